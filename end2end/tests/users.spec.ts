import { expect, test } from "@playwright/test";
import { column, login, uniqueDocument } from "./helpers";

test("an admin creates an advisor, unlocks their filter, and the new advisor sees all clients", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await login(page, "admin@demo.recaudo");
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Usuarios" }).click();
  await page.getByRole("link", { name: "Nuevo usuario" }).click();

  await page.getByLabel("Nombre").fill("Sofía Nueva");
  await page.getByLabel("Correo").fill("sofia-sin-arroba");
  await page.getByLabel("Contraseña").fill("corta");
  await page.getByRole("button", { name: "Guardar usuario" }).click();
  await expect(page.getByLabel("Correo")).toHaveAccessibleDescription(/no es un correo válido/);
  await expect(page.getByLabel("Contraseña")).toHaveAccessibleDescription(/al menos 10 caracteres/);

  const email = `sofia.${uniqueDocument()}@recaudo.co`;
  await page.getByLabel("Correo").fill(email);
  await page.getByLabel("Contraseña").fill("una-clave-segura");
  await page.getByLabel("Supervisor").selectOption({ label: "Jorge Medina" });
  await page.getByRole("button", { name: "Guardar usuario" }).click();
  await expect(page).toHaveURL(/\/usuarios$/);
  const row = page.getByRole("row").filter({ hasText: email });
  await expect(row).toContainText("Asesor");
  await expect(row).toContainText("Jorge Medina");
  await expect(row).toContainText("Bloqueado");

  await row.getByRole("link", { name: "Sofía Nueva" }).click();
  await page.getByLabel(/Filtro activo por usuario/).check();
  await page.getByRole("button", { name: "Guardar usuario" }).click();
  await expect(page.getByRole("row").filter({ hasText: email })).toContainText("Desbloqueado");

  // With no clients of her own she sees the whole portfolio.
  const sofia = await (await browser.newContext()).newPage();
  await login(sofia, email, "una-clave-segura");
  await expect(sofia.getByLabel("Mostrar")).toHaveValue("todos");
  expect(new Set(await column(sofia, "Asesor")).size).toBeGreaterThan(2);
});

test("an admin cannot lock themselves out", async ({ page }) => {
  await login(page, "admin@demo.recaudo");
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Usuarios" }).click();
  await page.getByRole("link", { name: "Administración Recaudo" }).click();
  await page.getByLabel("Activo", { exact: true }).uncheck();
  await page.getByRole("button", { name: "Guardar usuario" }).click();
  await expect(page.getByLabel("Activo", { exact: true })).toHaveAccessibleDescription("No puedes desactivar tu propio usuario.");
  await expect(page.getByRole("alert")).toHaveText("Revisa el campo marcado.");
});
