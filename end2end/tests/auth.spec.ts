import { expect, test } from "@playwright/test";
import { hydrated, login, open } from "./helpers";

test("a wrong password gets a generic Spanish error and no session", async ({ page }) => {
  await open(page, "/login");
  await page.getByLabel("Correo").fill("asesor4@demo.recaudo");
  await page.getByLabel("Contraseña").fill("no-es-la-clave");
  await page.getByRole("button", { name: "Ingresar" }).click();
  await expect(page.getByRole("alert")).toHaveText("Correo o contraseña incorrectos.");
  await expect(page).toHaveURL(/\/login/);

  await page.getByLabel("Correo").fill("nadie@demo.recaudo");
  await page.getByRole("button", { name: "Ingresar" }).click();
  await expect(page.getByRole("alert")).toHaveText("Correo o contraseña incorrectos.");
});

test("empty login fields are pointed out beside each field", async ({ page }) => {
  await open(page, "/login");
  await page.getByRole("button", { name: "Ingresar" }).click();
  await expect(page.getByLabel("Correo")).toHaveAccessibleDescription("Escribe tu correo.");
  await expect(page.getByLabel("Contraseña")).toHaveAccessibleDescription("Escribe tu contraseña.");
});

test("a page asked for before logging in opens after the login, and logout ends the session", async ({ page }) => {
  await page.goto("/clientes?orden=monto-desc");
  await expect(page).toHaveURL(/\/login\?next=/);
  await hydrated(page);
  await page.getByLabel("Correo").fill("supervisor2@demo.recaudo");
  await page.getByLabel("Contraseña").fill("recaudo-demo");
  await page.getByRole("button", { name: "Ingresar" }).click();
  await expect(page).toHaveURL(/\/clientes\?orden=monto-desc$/);
  await expect(page.getByLabel("Ordenar por")).toHaveValue("monto-desc");

  await page.getByRole("button", { name: "Salir" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/clientes");
  await expect(page).toHaveURL(/\/login\?next=/);
});

test("the navigation shows who is signed in and hides admin pages from advisors", async ({ page }) => {
  await login(page, "asesor2@demo.recaudo");
  const nav = page.getByRole("navigation", { name: "Principal" });
  await expect(page.getByText("Andrés Gómez · Asesor")).toBeVisible();
  await expect(nav.getByRole("link", { name: "Clientes" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Usuarios" })).toHaveCount(0);
  await open(page, "/usuarios");
  await expect(page.getByRole("alert")).toContainText("No tienes permiso");
});

test("a login link that hides another site behind a tab stays on this site", async ({ page }) => {
  for (const next of ["/%09/evil.example/x", "/%0A/evil.example/x", "/%0D%0A/evil.example/x"]) {
    await page.context().clearCookies();
    await open(page, `/login?next=${next}`);
    const site = new URL(page.url()).host;
    await page.getByLabel("Correo").fill("asesor2@demo.recaudo");
    await page.getByLabel("Contraseña").fill("recaudo-demo");
    await page.getByRole("button", { name: "Ingresar" }).click();
    await expect(page.getByRole("button", { name: "Salir" })).toBeVisible();
    expect(new URL(page.url()).host, next).toBe(site);
    expect(new URL(page.url()).pathname, next).not.toContain("evil.example");
  }
});
