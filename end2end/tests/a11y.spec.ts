import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { login, open } from "./helpers";

/** axe-core on the page as it is: no serious or critical violation. */
async function accessible(page: Page, url: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ` +
        v.nodes
          .slice(0, 3)
          .map((n) => `${n.target.join(" ")} ${n.html.slice(0, 120)} ${n.failureSummary ?? ""}`)
          .join("\n  "),
    );
  expect(bad, `${url}\n${bad.join("\n")}`).toEqual([]);
}

/** Every screen opened directly by its address, as a bookmark or a shared link does:
 * it hydrates (a mismatch between the server's page and the browser's shows up as an
 * error in the console or an exception), and it passes axe-core. */
async function sweep(page: Page, urls: string[]) {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  for (const url of urls) {
    problems.length = 0;
    await open(page, url);
    await expect(page.locator("h1").first()).toBeVisible();
    await expect(page.locator(".loading")).toHaveCount(0);
    expect(problems, url).toEqual([]);
    await accessible(page, url);
  }
}

test("every screen an administrator opens passes axe-core", async ({ page }) => {
  test.setTimeout(180_000);
  await login(page, "admin@demo.recaudo");
  await sweep(page, [
    "/clientes",
    "/clientes/nuevo",
    "/clientes/importar",
    "/clientes/1",
    "/clientes/1/editar",
    "/conversaciones/1",
    "/no-registrados",
    "/pagos-a-verificar",
    "/interacciones",
    "/indicadores",
    "/estrategias/plantillas",
    "/estrategias/segmentos",
    "/estrategias/flujos",
    "/estrategias/eventos",
    "/estrategias/campanas",
    "/ajustes/canales",
    "/ajustes/politica-de-contacto",
    "/ajustes/politica-de-contacto?pais=CO",
    "/usuarios",
    "/usuarios/nuevo",
  ]);
});

test("every screen an advisor opens passes axe-core", async ({ page }) => {
  test.setTimeout(120_000);
  await login(page, "asesor1@demo.recaudo", undefined, "/conversaciones");
  await accessible(page, "/conversaciones");
  await sweep(page, ["/llamadas", "/conversaciones", "/clientes", "/interacciones", "/indicadores"]);
});

test("the login page passes axe-core", async ({ page }) => {
  await open(page, "/login");
  await accessible(page, "/login");
});
