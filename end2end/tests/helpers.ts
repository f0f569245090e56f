import { expect, Locator, Page } from "@playwright/test";

export const PASSWORD = "recaudo-demo";

/** Clicks only work once the WASM has hydrated the server-rendered page. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

export async function open(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
}

/** Logs in, lands on Conversaciones (the home page), then opens `landing`. */
export async function login(page: Page, email: string, password = PASSWORD, landing = "/clientes") {
  await open(page, "/login");
  await page.getByLabel("Correo").fill(email);
  await page.getByLabel("Contraseña").fill(password);
  await page.getByRole("button", { name: "Ingresar" }).click();
  await expect(page).toHaveURL(/\/conversaciones/);
  await expect(page.getByRole("heading", { name: "Conversaciones", exact: true })).toBeAttached();
  if (landing !== "/conversaciones") {
    await open(page, landing);
  }
  if (landing === "/clientes") {
    await expect(page.getByRole("heading", { name: "Clientes", exact: true })).toBeVisible();
  }
}

export function clientsTable(page: Page): Locator {
  return page.getByRole("table", { name: "Clientes" });
}

/** The text of one column of the clients table, by its header. */
export async function column(page: Page, header: string): Promise<string[]> {
  const table = clientsTable(page);
  await expect(table.getByRole("row").nth(1)).toBeVisible();
  const headers = await table.getByRole("columnheader").allInnerTexts();
  const index = headers.findIndex((h) => h.trim().toLowerCase() === header.toLowerCase());
  expect(index, `column ${header} in ${headers}`).toBeGreaterThanOrEqual(0);
  const rows = table.getByRole("row");
  const count = await rows.count();
  const values: string[] = [];
  for (let i = 1; i < count; i++) {
    values.push((await rows.nth(i).getByRole("cell").nth(index).innerText()).trim());
  }
  return values;
}

/** "COP 1.234.567,89" → 123456789 (cents). */
export function cents(money: string): number {
  const digits = money.replace(/[^\d,]/g, "").replace(",", ".");
  return Math.round(parseFloat(digits) * 100);
}

/** A document number no other run has used. */
export function uniqueDocument(): string {
  return `${Date.now()}`.slice(-10);
}
