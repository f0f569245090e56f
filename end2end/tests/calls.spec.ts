import { expect, Locator, Page, test } from "@playwright/test";
import { serverDay } from "./clock";
import { login } from "./helpers";

function tray(page: Page): Locator {
  return page.getByRole("list", { name: "Llamadas pendientes" });
}

async function callsDue(page: Page): Promise<number> {
  return Number(await page.getByTestId("calls-count").innerText());
}

/** Today in the organisation's zone, as the server counts days. */
function isoToday(plusDays = 0): string {
  return serverDay(plusDays);
}

async function openGestion(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: "Registrar gestión" }).click();
  const form = page.getByRole("dialog", { name: "Registrar gestión" });
  await expect(form).toBeVisible();
  return form;
}

/** The first day after today the calendar lets us pick. */
async function pickNextCallDay(form: Locator): Promise<string> {
  for (let month = 0; month < 2; month++) {
    const enabled = form.locator(".calendar-grid button.day:not([disabled])");
    const dates = await enabled.evaluateAll((els) => els.map((e) => e.getAttribute("data-date") ?? ""));
    const later = dates.filter((d) => d > isoToday());
    if (later.length > 0) {
      await form.locator(`.calendar-grid button[data-date="${later[0]}"]`).click();
      return later[0];
    }
    await form.getByRole("button", { name: "Mes siguiente" }).click();
  }
  throw new Error("no day to call again in two months");
}

test("an advisor works the Llamadas tray: callback, promise and the payments queue", async ({ page, browser }) => {
  await login(page, "asesor4@demo.recaudo", undefined, "/llamadas");
  const rows = tray(page).getByRole("listitem");
  await expect(rows.first()).toBeVisible();
  // The broken promise is back at the top, marked; the counter counts the tray.
  await expect(rows.first().getByText("Compromiso incumplido")).toBeVisible();
  const start = await callsDue(page);
  expect(start).toBe(await rows.count());
  expect(start).toBeGreaterThanOrEqual(3);

  // "Volver a llamar" chosen with its shortcut, on a day the calendar allows.
  const first = rows.nth(1);
  const name = (await first.locator(".row-name").innerText()).trim();
  await first.getByRole("link").click();
  await expect(page).toHaveURL(/\/llamadas\/\d+/);
  const calledUrl = page.url();
  await expect(page.getByRole("link", { name: /^Llamar a / }).first()).toHaveAttribute("href", /^tel:\+\d+$/);
  let form = await openGestion(page);
  await page.keyboard.press("v");
  await expect(form.getByRole("radio", { name: /Volver a llamar/ })).toBeChecked();
  const sunday = form.locator(".calendar-grid button.day[title*='domingos']").first();
  await expect(sunday).toBeDisabled();
  const picked = await pickNextCallDay(form);
  await expect(form.getByText(/^Elegido: /)).toContainText(picked.split("-").reverse().join("/"));
  await form.getByLabel("Nota").fill("Pide que lo llamen después de las 3 pm");
  // The conversation reloading underneath (a message arriving, "Refrescar") keeps the
  // form open with what the advisor chose and wrote.
  const reloaded = page.waitForResponse((r) => r.url().includes("/api/get_conversation"));
  await page.getByRole("button", { name: "Refrescar" }).click();
  await reloaded;
  await expect(form.getByLabel("Nota")).toHaveValue("Pide que lo llamen después de las 3 pm");
  await expect(form.getByRole("radio", { name: /Volver a llamar/ })).toBeChecked();
  await form.getByRole("button", { name: "Guardar gestión" }).click();

  // Saved: on to the next client, and the one called left the tray.
  await expect(page).not.toHaveURL(calledUrl);
  await expect(page).toHaveURL(/\/llamadas\/\d+/);
  await expect(tray(page).getByText(name, { exact: true })).toHaveCount(0);
  await expect.poll(() => callsDue(page)).toBe(start - 1);

  // "Compromiso" with date and amount on the client now open.
  const promiseUrl = page.url();
  const promised = isoToday(3);
  form = await openGestion(page);
  await page.keyboard.press("c");
  await expect(form.getByRole("radio", { name: /Compromiso \/ A verificar/ })).toBeChecked();
  await form.getByRole("button", { name: "Guardar gestión" }).click();
  await expect(form.getByText("Escribe el monto.")).toBeVisible();
  await form.getByLabel("Fecha del compromiso").fill(promised);
  await form.getByLabel("Monto").fill("50.000");
  await form.getByRole("button", { name: "Guardar gestión" }).click();
  await expect(page).not.toHaveURL(promiseUrl);
  await expect.poll(() => callsDue(page)).toBe(start - 2);

  // The outcome is an interaction of that conversation, with its promise.
  await page.goto(promiseUrl);
  const panel = page.getByRole("tabpanel");
  await expect(panel.getByText("Compromiso / A verificar", { exact: true })).toBeVisible();
  const shown = promised.split("-").reverse().join("/");
  await expect(panel.getByText(new RegExp(`^Compromiso de [A-Z]{3} 50\\.000,00 para el ${shown} — Pendiente$`))).toBeVisible();
  await expect(panel.getByText("Mateo Herrera").first()).toBeVisible();

  // The payments this advisor registered wait for another person: the advisor may
  // reject one (with a reason) but not approve it.
  await page.getByRole("link", { name: "Pagos a verificar" }).click();
  await expect(page.getByRole("heading", { name: "Pagos a verificar" })).toBeVisible();
  const payments = page.getByRole("table").getByRole("row");
  await expect(payments.nth(1)).toBeVisible();
  await expect(page.getByRole("link", { name: "comprobante.txt" })).toBeVisible();
  const mine = payments.filter({ hasText: "Lo registraste tú: lo aprueba otra persona" }).first();
  await expect(mine).toBeVisible();
  await expect(mine.getByRole("button", { name: /^Aprobar/ })).toHaveCount(0);
  const payer = (await mine.getByRole("link").first().innerText()).trim();
  await mine.getByRole("button", { name: "Rechazar" }).click();
  await mine.getByRole("button", { name: "Confirmar rechazo" }).click();
  await expect(page.getByText("Escribe por qué rechazas el pago.")).toBeVisible();

  // The team's supervisor approves it.
  const supervisor = await (await browser.newContext()).newPage();
  await login(supervisor, "supervisor2@demo.recaudo", undefined, "/pagos-a-verificar");
  const queue = supervisor.getByRole("table").getByRole("row");
  await expect(queue.nth(1)).toBeVisible();
  const before = await queue.count();
  await supervisor.getByRole("button", { name: `Aprobar el pago de ${payer}` }).first().click();
  await expect(queue).toHaveCount(before - 1);
});

test("a supervisor's payment queue holds only their team's clients", async ({ page }) => {
  await login(page, "supervisor2@demo.recaudo", undefined, "/pagos-a-verificar");
  const rows = page.getByRole("table").getByRole("row");
  await expect(rows.nth(1)).toBeVisible();
  const advisors = new Set(await page.locator("table tbody tr td:nth-child(2)").allInnerTexts());
  for (const a of advisors) {
    expect(["Valentina Díaz", "Mateo Herrera", "Jorge Medina"]).toContain(a.trim());
  }
});
