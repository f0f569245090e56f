import { expect, Locator, Page, test } from "@playwright/test";
import { serverDay } from "./clock";
import { login, open, uniqueDocument } from "./helpers";

// The server's clock starts at 10:00 in Bogotá on a working day (./clock.ts), so what
// Colombia's Ley 2300 allows below does not depend on when the tests run.

function composer(page: Page): Locator {
  return page.getByRole("form", { name: "Responder" });
}

/** A Colombian debtor of Camila Rojas with a phone and a reference who has one too. */
async function colombianDebtor(page: Page): Promise<string> {
  const document = uniqueDocument();
  await open(page, "/clientes/nuevo");
  await page.getByLabel("Documento").fill(document);
  await page.getByLabel("Nombres").fill("Rosa");
  await page.getByLabel("Apellidos").fill(`Política ${document}`);
  await page.getByLabel("Asesor").selectOption({ label: "Camila Rojas (Asesor)" });
  const contacts = page.getByRole("group", { name: "Contactos del cliente" });
  await contacts.getByRole("button", { name: "Añadir teléfono" }).click();
  await contacts.getByLabel("Teléfono 1", { exact: true }).fill(`301${document.slice(-7)}`);
  const reference = page.getByRole("group", { name: "Referencia 1" });
  await reference.getByLabel("Nombre").fill("Tomás Referencia");
  await reference.getByLabel("Relación").fill("Amigo");
  await reference.getByRole("button", { name: "Añadir teléfono" }).click();
  await reference.getByLabel("Teléfono 1", { exact: true }).fill(`302${document.slice(-7)}`);
  await page.getByRole("button", { name: "Añadir deuda" }).click();
  const debt = page.getByRole("group", { name: "Deuda 1" });
  await debt.getByLabel("Número de orden").fill(`GOB-${document}`);
  await debt.getByLabel("Fecha de emisión").fill(serverDay(-60));
  await debt.getByLabel("Fecha de vencimiento").fill(serverDay(-30));
  await debt.getByLabel("Monto").fill("450.000");
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  return page.url().match(/\/clientes\/(\d+)$/)![1];
}

/** Sets what Colombia's "Un contacto al día" does when it is exceeded. */
async function oneADay(page: Page, action: "Bloquear" | "Advertir y pedir motivo") {
  await open(page, "/ajustes/politica-de-contacto?pais=CO");
  const cap = page.getByRole("group", { name: "Un contacto al día" });
  await cap.getByLabel("Si se supera").selectOption({ label: action });
  await page.getByRole("button", { name: "Guardar política" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Política guardada" })).toBeVisible();
}

async function sms(page: Page, text: string) {
  const form = composer(page);
  await form.getByRole("radio", { name: "SMS", exact: true }).check();
  await form.getByLabel("Mensaje").fill(text);
}

test("Ley 2300: a second contact the same day is blocked with the next allowed time; a warning asks for a reason that Interacciones shows", async ({ page }) => {
  test.setTimeout(120_000);
  await login(page, "admin@demo.recaudo");
  const id = await colombianDebtor(page);
  await page.getByRole("button", { name: "Salir" }).click();

  await login(page, "asesor1@demo.recaudo", undefined, `/conversaciones/${id}`);
  await sms(page, "Buenos días, le escribimos por su obligación.");
  await expect(composer(page).locator(".notice.policy")).toHaveCount(0);
  await composer(page).getByRole("button", { name: "Enviar" }).click();
  await expect(page.getByRole("tabpanel").locator("li.message.outbound")).toHaveCount(1);

  // The same day again: Colombia allows one contact a day. The next allowed moment is
  // the next working day at 07:00 in the debtor's zone.
  await sms(page, "Le recordamos su obligación.");
  const notice = composer(page).locator(".notice.policy");
  await expect(notice).toContainText("Bloqueado");
  await expect(notice).toContainText("Un contacto al día");
  await expect(notice).toContainText(/Próximo horario permitido: \w+ \d{2}\/\d{2} 07:00 \(hora de Bogotá\)/);
  await expect(composer(page).getByRole("button", { name: "Enviar" })).toBeDisabled();
  await page.getByRole("button", { name: "Salir" }).click();

  // The administrator turns that cap into a warning.
  await login(page, "admin@demo.recaudo");
  await oneADay(page, "Advertir y pedir motivo");
  await page.getByRole("button", { name: "Salir" }).click();

  await login(page, "asesor1@demo.recaudo", undefined, `/conversaciones/${id}`);
  await sms(page, "Le confirmamos el acuerdo conversado.");
  await expect(composer(page).locator(".notice.policy")).toContainText("Advertencia");
  const reason = composer(page).getByLabel("Motivo para contactar pese a la advertencia");
  await expect(reason).toBeVisible();
  await composer(page).getByRole("button", { name: "Enviar" }).click();
  await expect(reason).toHaveAccessibleDescription(/motivo/i);
  await expect(page.getByRole("tabpanel").locator("li.message.outbound")).toHaveCount(1);
  const why = `El deudor pidió la confirmación hoy ${Date.now()}`;
  await reason.fill(why);
  await composer(page).getByRole("button", { name: "Enviar" }).click();
  await expect(page.getByRole("tabpanel").locator("li.message.outbound")).toHaveCount(2);

  await open(page, `/interacciones?estado=policy_overridden&desde=${serverDay()}&hasta=${serverDay()}`);
  const table = page.getByRole("table", { name: "Interacciones" });
  const row = table.getByRole("row").filter({ hasText: why });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Contacto: Enviado pese a advertencia");
  await page.getByRole("button", { name: "Salir" }).click();

  await login(page, "admin@demo.recaudo");
  await oneADay(page, "Bloquear");
});

test("a reference's tab refuses the account's figures", async ({ page }) => {
  await login(page, "admin@demo.recaudo");
  const id = await colombianDebtor(page);
  await page.getByRole("button", { name: "Salir" }).click();

  await login(page, "asesor1@demo.recaudo", undefined, `/conversaciones/${id}`);
  await page.getByRole("tab", { name: /Referencias/ }).click();
  await sms(page, "Estado de cuenta: debe $450.000");
  const notice = composer(page).locator(".notice.policy");
  await expect(notice).toContainText("Bloqueado");
  await expect(notice).toContainText("referencia");
  await expect(composer(page).getByRole("button", { name: "Enviar" })).toBeDisabled();
  await composer(page).getByLabel("Mensaje").fill("Hola Tomás, ¿podría pedirle a Rosa que nos llame?");
  await expect(notice).toHaveCount(0);
  await expect(composer(page).getByRole("button", { name: "Enviar" })).toBeEnabled();
});

test("a channel the debtor did not authorise cannot be chosen until the form authorises it again", async ({ page }) => {
  await login(page, "admin@demo.recaudo");
  const id = await colombianDebtor(page);
  await open(page, `/clientes/${id}/editar`);
  const consent = page
    .getByRole("group", { name: "Contactos del cliente" })
    .getByRole("group", { name: "Canales autorizados de Teléfono 1" });
  await expect(consent.getByRole("checkbox", { name: "SMS" })).toBeChecked();
  await consent.getByRole("checkbox", { name: "SMS" }).uncheck();
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(new RegExp(`/clientes/${id}$`));
  await expect(page.getByText("no autoriza: SMS")).toBeVisible();
  await page.getByRole("button", { name: "Salir" }).click();

  await login(page, "asesor1@demo.recaudo", undefined, `/conversaciones/${id}`);
  const sms = composer(page).getByRole("radio", { name: "SMS", exact: true });
  await expect(sms).toBeDisabled();
  await expect(composer(page).locator("label.channel.blocked").filter({ hasText: "SMS" }))
    .toHaveAttribute("title", /no autorizó SMS/);
  await page.getByRole("button", { name: "Salir" }).click();

  await login(page, "admin@demo.recaudo", undefined, `/clientes/${id}/editar`);
  await consent.getByRole("checkbox", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(new RegExp(`/clientes/${id}$`));
  await expect(page.getByText("no autoriza: SMS")).toHaveCount(0);
  await page.getByRole("button", { name: "Salir" }).click();
  await login(page, "asesor1@demo.recaudo", undefined, `/conversaciones/${id}`);
  await expect(composer(page).getByRole("radio", { name: "SMS", exact: true })).toBeEnabled();
});

test("the contact policy page lists every country with its source and edits holidays", async ({ page }) => {
  await login(page, "admin@demo.recaudo", undefined, "/ajustes/politica-de-contacto");
  const table = page.getByRole("table", { name: "Políticas por país" });
  await expect(table.getByRole("row").filter({ hasText: "Ley 2300" })).toHaveCount(1);
  await expect(table.getByRole("row").filter({ hasText: "Ley 19.496" })).toHaveCount(1);
  await expect(table.getByRole("row").filter({ hasText: "Sin política legal cargada" }).first()).toBeVisible();
  await open(page, "/ajustes/politica-de-contacto?pais=CL");
  const add = page.getByRole("form", { name: "Agregar festivo" });
  await add.getByLabel("Fecha").fill("2027-12-31");
  await add.getByLabel("Nombre").fill("Feriado bancario de prueba");
  await add.getByRole("button", { name: "Agregar festivo" }).click();
  const remove = page.getByRole("button", { name: "Quitar festivo Feriado bancario de prueba (31/12/2027)" });
  await expect(remove).toBeVisible();
  await add.getByLabel("Fecha").fill("2027-12-31");
  await add.getByLabel("Nombre").fill("Otra vez");
  await add.getByRole("button", { name: "Agregar festivo" }).click();
  await expect(add.getByText("El 31/12/2027 ya es festivo.")).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("Revisa el campo marcado.");
  await remove.click();
  await expect(remove).toHaveCount(0);
});
