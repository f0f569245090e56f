import { expect, test } from "@playwright/test";
import { clientsTable, column, login, open } from "./helpers";

test("an advisor sees only the clients assigned to them", async ({ page }) => {
  await login(page, "asesor1@demo.recaudo");
  const advisors = await column(page, "Asesor");
  expect(advisors.length).toBe(50);
  expect(new Set(advisors)).toEqual(new Set(["Camila Rojas"]));
  await expect(page.getByLabel("Mostrar")).toBeDisabled();
  await expect(page.getByLabel("Mostrar")).toHaveValue("asociados");
});

test("a supervisor sees their team's clients and nobody else's", async ({ page }) => {
  await login(page, "supervisor1@demo.recaudo");
  await page.getByRole("button", { name: "Cargar más" }).click();
  await expect(clientsTable(page).getByRole("row")).toHaveCount(101);
  const advisors = new Set(await column(page, "Asesor"));
  for (const name of advisors) {
    expect(["Camila Rojas", "Andrés Gómez", "Laura Castillo"]).toContain(name);
  }
  expect(advisors.has("Camila Rojas") && advisors.has("Andrés Gómez")).toBe(true);
});

test("an admin sees every team, and another advisor's client is not found by its address", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  await login(admin, "admin@demo.recaudo");
  await admin.getByRole("button", { name: "Cargar más" }).click();
  await expect(clientsTable(admin).getByRole("row")).toHaveCount(101);
  const advisors = new Set(await column(admin, "Asesor"));
  expect(advisors.has("Camila Rojas") && advisors.has("Valentina Díaz") && advisors.has("Mateo Herrera")).toBe(true);
  await expect(admin.getByLabel("Mostrar")).toHaveValue("todos");

  const theirs = clientsTable(admin).getByRole("row").filter({ hasText: "Valentina Díaz" }).first();
  const href = await theirs.getByRole("link").first().getAttribute("href");
  const name = await theirs.getByRole("link").first().innerText();
  expect(href).toMatch(/^\/clientes\/\d+$/);

  const advisor = await (await browser.newContext()).newPage();
  await login(advisor, "asesor1@demo.recaudo");
  await open(advisor, href!);
  await expect(advisor.getByRole("alert")).toHaveText("No encontrado.");
  await expect(advisor.getByText(name)).toHaveCount(0);
});
