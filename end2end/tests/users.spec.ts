import { expect, test } from "@playwright/test";
import { column, login, open, PASSWORD, uniqueDocument } from "./helpers";

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

test("failed logins on an account alert the administrators instead of locking it", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  await login(admin, "admin@demo.recaudo", PASSWORD, "/usuarios/nuevo");
  const email = `blanco.${uniqueDocument()}@recaudo.co`;
  await admin.getByLabel("Nombre").fill("Blanco de Ataques");
  await admin.getByLabel("Correo").fill(email);
  await admin.getByLabel("Contraseña").fill("una-clave-segura");
  await admin.getByRole("button", { name: "Guardar usuario" }).click();
  await expect(admin).toHaveURL(/\/usuarios$/);
  await expect(admin.getByRole("alert")).toHaveCount(0);

  // Someone guesses: three tries at once, then each waits longer than the one before.
  const guesser = await (await browser.newContext()).newPage();
  await open(guesser, "/login");
  const attempt = async (status: number) => {
    await guesser.getByLabel("Correo").fill(email);
    await guesser.getByLabel("Contraseña").fill("no-es-la-clave");
    const [answer] = await Promise.all([
      guesser.waitForResponse((r) => r.url().endsWith("/api/login")),
      guesser.getByRole("button", { name: "Ingresar" }).click(),
    ]);
    expect(answer.status()).toBe(status);
  };
  const guess = async () => {
    await attempt(401);
    await expect(guesser.getByRole("alert")).toHaveText("Correo o contraseña incorrectos.");
  };
  for (let i = 0; i < 3; i++) await guess();
  await attempt(429);
  await expect(guesser.getByRole("alert")).toContainText("Demasiados intentos");
  await guesser.waitForTimeout(5_500);
  await guess();
  await guesser.waitForTimeout(10_500);
  await guess();

  await open(admin, "/usuarios");
  const notice = admin.getByRole("alert");
  await expect(notice.getByRole("heading", { name: "Intentos de ingreso fallidos" })).toBeVisible();
  await expect(notice).toContainText(`${email}: 5 intentos fallidos de ingreso desde 1 dirección`);
  await expect(notice).toContainText("La cuenta sigue activa");
});
