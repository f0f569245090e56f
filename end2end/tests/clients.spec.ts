import { readFileSync } from "fs";
import { expect, Page, test } from "@playwright/test";
import { cents, clientsTable, column, login, open, uniqueDocument } from "./helpers";

async function fillValidClient(page: Page, document: string) {
  await page.getByLabel("Documento").fill(document);
  await page.getByLabel("Nombres").fill("Lucía");
  await page.getByLabel("Apellidos").fill("Prueba Navegador");
  await page.getByLabel("Asesor").selectOption({ label: "Camila Rojas (Asesor)" });
}

test("the client form reports each bad field beside it and saves only a valid client", async ({ page }) => {
  await login(page, "admin@demo.recaudo");
  await page.getByRole("link", { name: "Nuevo cliente" }).click();
  await expect(page.getByRole("heading", { name: "Nuevo cliente" })).toBeVisible();

  await page.getByLabel("Documento").fill("12");
  await page.getByLabel("Nombres").fill("Lucía");
  const contacts = page.getByRole("group", { name: "Contactos del cliente" });
  await contacts.getByRole("button", { name: "Añadir correo" }).click();
  await contacts.getByLabel("Correo 1", { exact: true }).fill("no-es-correo");
  await page.getByRole("button", { name: "Añadir deuda" }).click();
  const debt = page.getByRole("group", { name: "Deuda 1" });
  await debt.getByLabel("Número de orden").fill("E2E-1");
  await debt.getByLabel("Fecha de emisión").fill("2026-03-01");
  await debt.getByLabel("Fecha de vencimiento").fill("2026-02-01");
  await debt.getByLabel("Monto").fill("mil");
  await page.getByRole("button", { name: "Guardar cliente" }).click();

  await expect(page.getByLabel("Documento")).toHaveAccessibleDescription(/entre 4 y 20/);
  await expect(page.getByLabel("Apellidos")).toHaveAccessibleDescription("Escribe los apellidos.");
  await expect(contacts.getByLabel("Correo 1", { exact: true })).toHaveAccessibleDescription(/no es un correo válido/);
  await expect(debt.getByLabel("Fecha de vencimiento")).toHaveAccessibleDescription(/anterior a la emisión/);
  await expect(debt.getByLabel("Monto")).toHaveAccessibleDescription(/carácter no válido/);
  await expect(page.getByRole("alert").last()).toContainText("Revisa los");
  await expect(page).toHaveURL(/\/clientes\/nuevo$/);

  const document = uniqueDocument();
  await fillValidClient(page, document);
  await contacts.getByLabel("Correo 1", { exact: true }).fill("lucia.prueba@correo.co");
  await contacts.getByRole("button", { name: "Añadir teléfono" }).click();
  await contacts.getByLabel("Teléfono 1", { exact: true }).fill("300 765 4321");
  const reference = page.getByRole("group", { name: "Referencia 1" });
  await reference.getByLabel("Nombre").fill("Pedro Prueba");
  await reference.getByLabel("Relación").fill("Hermano");
  await reference.getByRole("button", { name: "Añadir teléfono" }).click();
  await reference.getByLabel("Teléfono 1", { exact: true }).fill("310 555 1234");
  await debt.getByLabel("Fecha de vencimiento").fill("2026-04-01");
  await debt.getByLabel("Monto").fill("1.500.000");
  await page.getByRole("button", { name: "Guardar cliente" }).click();

  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  await expect(page.getByRole("heading", { name: "Lucía Prueba Navegador" })).toBeVisible();
  const summary = page.getByRole("region", { name: "Resumen de deuda" });
  await expect(summary).toContainText("COP 1.500.000,00");
  await expect(page.getByRole("heading", { name: "Referencia 1" })).toBeVisible();
  await expect(page.getByText("+573105551234")).toBeVisible();
  await expect(page.getByRole("cell", { name: "E2E-1" })).toBeVisible();

  // The same document again is refused by the server, beside the field.
  await open(page, "/clientes/nuevo");
  await fillValidClient(page, document);
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page.getByLabel("Documento")).toHaveAccessibleDescription("Ya existe un cliente con ese documento.");

  await open(page, `/clientes?q=${document}`);
  await expect(clientsTable(page).getByRole("row")).toHaveCount(2);
});

test("an advisor edits a client and the change is kept", async ({ page }) => {
  await login(page, "asesor3@demo.recaudo");
  const first = clientsTable(page).getByRole("row").nth(1).getByRole("link").first();
  await first.click();
  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  await page.getByRole("link", { name: "Editar" }).click();
  await expect(page.getByRole("button", { name: "Guardar cliente" })).toBeVisible();
  await page.getByLabel("Segmento").fill("Revisado en el navegador");
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  await expect(page.getByText("Revisado en el navegador")).toBeVisible();
});

test("the edit form opened directly by its address works like one reached by a link", async ({ page }) => {
  await login(page, "asesor3@demo.recaudo");
  const first = clientsTable(page).getByRole("row").nth(1).getByRole("link").first();
  const href = await first.getAttribute("href");
  await open(page, `${href}/editar`);
  await page.getByLabel("Segmento").fill("Editado desde un enlace");
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(new RegExp(`${href}$`));
  await expect(page.getByText("Editado desde un enlace")).toBeVisible();
});

test("sorting, loading more and searching the list", async ({ page }) => {
  await login(page, "admin@demo.recaudo");
  await page.getByLabel("Ordenar por").selectOption({ label: "Monto: mayor a menor" });
  await expect(page).toHaveURL(/orden=monto-desc/);
  await expect(clientsTable(page).getByRole("row")).toHaveCount(51);
  const amounts = (await column(page, "Deuda vencida")).map(cents);
  for (let i = 1; i < amounts.length; i++) expect(amounts[i]).toBeLessThanOrEqual(amounts[i - 1]);

  await page.getByLabel("Ordenar por").selectOption({ label: "Días de atraso: de menor a mayor" });
  await expect(page).toHaveURL(/orden=dias-asc/);
  await page.getByRole("button", { name: "Cargar más" }).click();
  await expect(clientsTable(page).getByRole("row")).toHaveCount(101);
  const days = (await column(page, "Días de atraso")).map(Number);
  for (let i = 1; i < days.length; i++) expect(days[i]).toBeGreaterThanOrEqual(days[i - 1]);

  const documents = await column(page, "Documento");
  await page.getByLabel("Buscar cliente").fill(documents[7]);
  await page.getByRole("button", { name: "Buscar" }).click();
  await expect(clientsTable(page).getByRole("row")).toHaveCount(2);
  await expect(clientsTable(page)).toContainText(documents[7]);

  // The export holds what the list shows; the browser saves it and the page tells how far it got.
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Exportar CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^clientes-\d{4}-\d{2}-\d{2}\.csv$/);
  await expect(page.getByRole("status").filter({ hasText: "Descarga lista: 1 fila ·" })).toBeVisible();
  const exported = readFileSync((await download.path())!, "utf8").trim().split("\n");
  expect(exported).toHaveLength(2);
  expect(exported[1]).toContain(documents[7]);

  await page.getByLabel("Buscar cliente").fill("zzzz-nadie");
  await page.getByRole("button", { name: "Buscar" }).click();
  await expect(page.getByText("No hay clientes que coincidan.")).toBeVisible();
});

test("a supervisor reassigns selected clients within the team", async ({ page }) => {
  await login(page, "supervisor1@demo.recaudo");
  const table = clientsTable(page);
  const camilas = table.getByRole("row").filter({ hasText: "Camila Rojas" });
  const hrefs = [
    await camilas.nth(0).getByRole("link").getAttribute("href"),
    await camilas.nth(1).getByRole("link").getAttribute("href"),
  ];
  await camilas.nth(0).getByRole("checkbox").check();
  await camilas.nth(1).getByRole("checkbox").check();
  const target = page.getByLabel("Asignar a");
  await expect(target.getByRole("option", { name: "Valentina Díaz (Asesor)" })).toHaveCount(0);
  await target.selectOption({ label: "Andrés Gómez (Asesor)" });
  await page.getByRole("button", { name: "Asignar seleccionados" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Se reasignaron" })).toHaveText("Se reasignaron 2 clientes.");
  for (const href of hrefs) {
    const row = table.getByRole("row").filter({ has: page.locator(`a[href="${href}"]`) });
    await expect(row).toContainText("Andrés Gómez");
  }
});
