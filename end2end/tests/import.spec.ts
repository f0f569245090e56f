import { expect, test } from "@playwright/test";
import { clientsTable, login, open, uniqueDocument } from "./helpers";

const HEADER = "Documento;Nombres;Apellidos;País;Asesor ID;Teléfono;Número de orden;Fecha de emisión;Fecha de vencimiento;Monto;Moneda";

test("an invalid portfolio file lists its errors and imports nothing; a valid one imports once", async ({ page }) => {
  await login(page, "admin@demo.recaudo");
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Importar cartera" }).click();
  await expect(page.getByRole("heading", { name: "Importar cartera" })).toBeVisible();

  const a = uniqueDocument();
  const b = `${a.slice(0, -1)}${(Number(a.slice(-1)) + 1) % 10}`;
  const bad = [
    HEADER,
    `${a};Ana;Importada;CO;asesor2@demo.recaudo;3001112233;IMP-1;2026-01-01;2026-02-01;100000;COP`,
    `${b};Beto;Importado;CO;nadie@demo.recaudo;3001112244;IMP-2;2026-01-01;31/02/2026;cien;COP`,
  ].join("\n");
  await page.getByLabel("Archivo CSV").setInputFiles({ name: "cartera.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  await page.getByRole("button", { name: "Validar e importar" }).click();
  await expect(page.getByRole("alert")).toContainText("No se importó nada");
  const errors = page.getByRole("table", { name: "Errores del archivo" });
  await expect(errors.getByRole("row").filter({ hasText: "Asesor ID" }).getByRole("cell").first()).toHaveText("3");
  await expect(errors.getByRole("row").filter({ hasText: "Fecha de vencimiento" })).toContainText("31/02/2026");
  await expect(errors.getByRole("row").filter({ hasText: "Monto" })).toContainText("«c»");
  await open(page, `/clientes?q=${a}`);
  await expect(page.getByText("No hay clientes que coincidan.")).toBeVisible();

  const good = bad.replace("nadie@demo.recaudo", "asesor2@demo.recaudo").replace("31/02/2026", "28/02/2026").replace(";cien;", ";100,50;");
  await open(page, "/clientes/importar");
  await page.getByLabel("Archivo CSV").setInputFiles({ name: "cartera.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
  await page.getByRole("button", { name: "Validar e importar" }).click();
  await expect(page.getByRole("status")).toHaveText("Importación completa: 2 filas, 2 clientes nuevos, 0 actualizados, 2 deudas.");

  await page.getByLabel("Archivo CSV").setInputFiles({ name: "cartera.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
  await page.getByRole("button", { name: "Validar e importar" }).click();
  await expect(page.getByRole("status")).toHaveText("Importación completa: 2 filas, 0 clientes nuevos, 2 actualizados, 2 deudas.");

  await open(page, `/clientes?q=${a}`);
  await expect(clientsTable(page).getByRole("row")).toHaveCount(2);
  await expect(clientsTable(page)).toContainText("Andrés Gómez");
});
