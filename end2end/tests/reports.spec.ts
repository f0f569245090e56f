import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { serverDay } from "./clock";
import { login, open } from "./helpers";

/** Today in the organisation's zone, as the server counts days. */
function isoToday(): string {
  return serverDay();
}

/** Splits one line of the report's CSV (";" between fields, quotes around some). */
function fields(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ";" && !quoted) {
      out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

test("a supervisor filters the interactions by advisor and period and downloads them as CSV", async ({ page }) => {
  // An advisor registers a reminder call with a note.
  const note = `Recordó la fecha de pago ${Date.now()}`;
  await login(page, "asesor2@demo.recaudo", undefined, "/conversaciones");
  const row = page.getByRole("list", { name: "Conversaciones" }).getByRole("listitem").first();
  await expect(row).toBeVisible();
  const client = (await row.locator(".row-name").innerText()).trim();
  await row.getByRole("link").click();
  await expect(page).toHaveURL(/\/conversaciones\/\d+/);
  await page.getByRole("button", { name: "Registrar gestión" }).click();
  const form = page.getByRole("dialog", { name: "Registrar gestión" });
  await form.getByRole("radio", { name: /Recordatorio/ }).check();
  await form.getByLabel("Nota").fill(note);
  await form.getByRole("button", { name: "Guardar gestión" }).click();
  await expect(form).toHaveCount(0);
  await page.getByRole("button", { name: "Salir" }).click();
  await expect(page).toHaveURL(/\/login/);

  // Her supervisor narrows Interacciones to her and to today.
  await login(page, "supervisor1@demo.recaudo", undefined, "/interacciones");
  await expect(page.getByRole("heading", { name: "Interacciones", exact: true })).toBeVisible();
  const filters = page.getByRole("search", { name: "Filtros de interacciones" });
  await filters.getByLabel("Asesor", { exact: true }).selectOption({ label: "Andrés Gómez" });
  await filters.getByLabel("Desde", { exact: true }).fill(isoToday());
  await filters.getByLabel("Hasta", { exact: true }).fill(isoToday());
  await filters.getByRole("button", { name: "Aplicar filtros" }).click();
  await expect(page).toHaveURL(/asesor=\d+/);
  await expect(page).toHaveURL(new RegExp(`desde=${isoToday()}`));
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });

  const table = page.getByRole("table", { name: "Interacciones" });
  const headers = (await table.getByRole("columnheader").allInnerTexts()).map((h) => h.trim().toLowerCase());
  for (const h of ["notas", "usuario gestión", "fecha de registro"]) {
    expect(headers).toContain(h);
  }
  const noted = table.getByRole("row").filter({ hasText: note });
  await expect(noted).toHaveCount(1);
  await expect(noted).toContainText(client);
  await expect(noted).toContainText("Recordatorio");
  // Another advisor's records are not in the table.
  await expect(table.getByRole("cell", { name: "Camila Rojas", exact: true })).toHaveCount(0);

  // The download is what the table shows, with its progress reported.
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Descargar CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`interacciones-${isoToday()}.csv`);
  await expect(page.getByRole("status").filter({ hasText: /Descarga lista: \d+ filas/ })).toBeVisible();
  const text = readFileSync((await download.path())!, "utf8");
  expect(text.startsWith("\uFEFF")).toBe(true);
  const lines = text.slice(1).trim().split("\n");
  const header = fields(lines[0]);
  expect(header).toEqual([
    "Fecha",
    "Tipo",
    "Canal",
    "Cliente",
    "Asesor",
    "Origen",
    "Detalle",
    "Estado",
    "Notas",
    "Usuario gestión",
    "Fecha de registro",
  ]);
  const line = lines.map(fields).find((f) => f[header.indexOf("Notas")] === note);
  expect(line, "the noted outcome is in the file").toBeDefined();
  expect(line![header.indexOf("Cliente")]).toBe(client);
  expect(line![header.indexOf("Tipo")]).toBe("Gestión");
  expect(line![header.indexOf("Detalle")]).toBe("Recordatorio");
  expect(line![header.indexOf("Usuario gestión")]).toMatch(/^\d+ · Andrés Gómez$/);
  expect(line![header.indexOf("Fecha de registro")]).toMatch(new RegExp(`^${isoToday()} \\d{2}:\\d{2}:\\d{2}$`));
  // Every line of the file is one of the table's rows: the same advisor throughout.
  const more = page.getByRole("button", { name: "Cargar más" });
  while ((await more.count()) > 0) {
    const before = await table.getByRole("row").count();
    await more.click();
    await expect.poll(() => table.getByRole("row").count()).toBeGreaterThan(before);
  }
  const rows = await table.getByRole("row").count();
  expect(lines.length).toBe(rows);
  for (const f of lines.slice(1).map(fields)) {
    expect(f[header.indexOf("Asesor")]).toBe("Andrés Gómez");
  }

  // Indicadores de gestión: the team's figures, charts with their numbers.
  await open(page, "/indicadores");
  await expect(page.getByRole("heading", { name: "Indicadores de gestión" })).toBeVisible();
  await expect(page.getByRole("img", { name: /^Contactabilidad\. No contactable: \d+; Con problemas/ })).toBeVisible();
  await expect(page.getByRole("table", { name: "Por asesor", exact: true }).getByRole("rowheader", { name: "Andrés Gómez" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Por asesor", exact: true }).getByRole("rowheader", { name: "Valentina Díaz" })).toHaveCount(0);
});
