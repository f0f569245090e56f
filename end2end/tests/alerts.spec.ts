import { execFileSync } from "node:child_process";
import { expect, Locator, Page, test } from "@playwright/test";
import { clientsTable, login, open } from "./helpers";

function inbox(page: Page): Locator {
  return page.getByRole("list", { name: "Conversaciones" });
}

function header(page: Page): Locator {
  return page.locator(".conversation-head");
}

/** A channel's failure event, as the channel adapters will report it, on the e2e database. */
function simulateFailure(address: string, problem: string) {
  execFileSync(process.env.RECAUDO_BIN!, ["simulate-failure", "--address", address, "--problem", problem], {
    cwd: "..",
    env: { ...process.env, RECAUDO_DEMO: "true", RECAUDO_DATABASE_URL: "sqlite://end2end/.e2e-data/e2e.db", RUST_LOG: "warn" },
  });
}

/** Lifts a flag through its "Quitar alerta" tooltip and the confirmation dialog. */
async function liftFlag(page: Page, flag: Locator, reason: string) {
  await flag.click();
  await page.getByRole("button", { name: "Quitar alerta" }).click();
  const dialog = page.getByRole("dialog", { name: "Quitar alerta" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Confirmar" }).click();
  await expect(dialog.getByText("Escribe por qué quitas la alerta.")).toBeVisible();
  await dialog.getByLabel("Motivo").fill(reason);
  await dialog.getByRole("button", { name: "Confirmar" }).click();
  await expect(dialog).toHaveCount(0);
}

test("No quiere pagar flags the client everywhere until lifted by hand", async ({ page }) => {
  await login(page, "asesor3@demo.recaudo", undefined, "/conversaciones");
  const row = inbox(page).getByRole("listitem").first();
  await expect(row).toBeVisible();
  const name = (await row.locator(".row-name").innerText()).trim();
  await row.getByRole("link").click();
  await expect(page).toHaveURL(/\/conversaciones\/\d+/);
  const clientId = page.url().match(/\/conversaciones\/(\d+)/)![1];

  await page.getByRole("button", { name: "Registrar gestión" }).click();
  const form = page.getByRole("dialog", { name: "Registrar gestión" });
  await form.getByRole("radio", { name: /No quiere pagar/ }).check();
  await form.getByLabel("Nota").fill("Dice que no va a pagar");
  await form.getByRole("button", { name: "Guardar gestión" }).click();
  await expect(form).toHaveCount(0);

  // Red flag in the conversation header, the tray row and the clients table.
  const flagInHeader = header(page).getByRole("button", { name: "No quiere pagar" });
  await expect(flagInHeader).toBeVisible();
  const trayRow = inbox(page).getByRole("listitem").filter({ hasText: name });
  await expect(trayRow.getByRole("img", { name: "No quiere pagar" })).toBeVisible();
  await open(page, `/clientes?q=${encodeURIComponent(name)}`);
  const tableRow = clientsTable(page).getByRole("row").filter({ hasText: name });
  const flagInTable = tableRow.getByRole("button", { name: "No quiere pagar" });
  await expect(flagInTable).toBeVisible();
  // The Alerta filter finds the client.
  await page.getByLabel("Alerta: Problema de no pago").selectOption({ label: "No quiere pagar" });
  await expect(page).toHaveURL(/no-pago=no-quiere/);
  await expect(tableRow).toBeVisible();

  await liftFlag(page, flagInTable, "Pagará con ayuda de un familiar");
  await expect(flagInTable).toHaveCount(0);
  await open(page, `/conversaciones/${clientId}`);
  await expect(header(page).getByRole("heading", { name })).toBeVisible();
  await expect(header(page).getByRole("button", { name: "No quiere pagar" })).toHaveCount(0);
  await expect(inbox(page).getByRole("listitem").filter({ hasText: name }).getByRole("img", { name: "No quiere pagar" })).toHaveCount(0);
  // The history keeps who lifted it and why.
  await page.getByText("Historial de alertas").click();
  await expect(page.getByText("Motivo: Pagará con ayuda de un familiar")).toBeVisible();
});

test("a bounce flags the e-mail and the client orange; a new address lifts it", async ({ page }) => {
  await login(page, "asesor3@demo.recaudo");
  const link = clientsTable(page).getByRole("row").nth(2).getByRole("link").first();
  const name = (await link.innerText()).trim();
  await link.click();
  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  const detailUrl = page.url();
  const email = (await page.locator("a[href^='mailto:']").first().innerText()).trim();

  simulateFailure(email, "email_not_found");
  await page.reload();
  const flag = `Problema de contactabilidad: Correo no encontrado (${email})`;
  await expect(page.getByRole("heading", { level: 1 }).getByRole("button", { name: flag })).toBeVisible();
  await expect(page.getByRole("listitem").filter({ hasText: email }).getByRole("img", { name: "Problema de contactabilidad: Correo no encontrado" })).toBeVisible();
  await open(page, `/clientes?q=${encodeURIComponent(name)}`);
  const tableRow = clientsTable(page).getByRole("row").filter({ hasText: name });
  await expect(tableRow.getByRole("button", { name: "Problema de contactabilidad: Correo no encontrado" })).toBeVisible();
  await expect(tableRow.getByRole("cell", { name: "Con problemas de contactabilidad" })).toBeVisible();

  // A new address replaces the one that bounced.
  await open(page, detailUrl);
  await page.getByRole("link", { name: "Editar" }).click();
  await page.getByLabel("Correo 1").first().fill(`nuevo.${Date.now()}@correo.co`);
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 }).getByRole("button", { name: flag })).toHaveCount(0);
  await open(page, `/clientes?q=${encodeURIComponent(name)}`);
  await expect(tableRow.getByRole("button", { name: /Problema de contactabilidad/ })).toHaveCount(0);
});
