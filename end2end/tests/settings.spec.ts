import { expect, test } from "@playwright/test";
import { login } from "./helpers";

test("an admin writes a template with a live preview; a bad tag is refused beside the text", async ({ page }) => {
  await login(page, "admin@demo.recaudo", undefined, "/estrategias/plantillas");
  await expect(page.getByRole("table", { name: "Plantillas" }).getByRole("row", { name: /Recordatorio de pago/ })).toBeVisible();
  await page.getByRole("button", { name: "Nueva plantilla" }).click();
  const form = page.getByRole("form", { name: "Nueva plantilla" });
  await form.getByLabel("Nombre").fill("Aviso de saldo");
  await form.getByLabel("Canal").selectOption("sms");
  await form.getByLabel("Texto").fill("Hola {{nombre}}, tu saldo es {{saldo}}");
  const preview = form.getByRole("region", { name: "Vista previa" });
  await expect(preview).toContainText("Etiqueta desconocida: «{{saldo}}»");
  await form.getByRole("button", { name: "Guardar plantilla" }).click();
  await expect(form.locator("#body-error")).toContainText("Etiqueta desconocida");

  await form.getByLabel("Texto").fill("Hola {{nombre}}, tu saldo vencido es {{deuda_vencida}}");
  await expect(preview).toContainText(/Con los datos de .+/);
  await expect(preview).toContainText(/Hola .+, tu saldo vencido es [A-Z]{3} [\d.]+,\d\d/);
  await form.getByRole("button", { name: "Guardar plantilla" }).click();
  await expect(form).toHaveCount(0);
  await expect(page.getByRole("row", { name: /Aviso de saldo/ })).toContainText("SMS");
});

test("an admin sets a channel's provider and turns it off; the secret never comes back and advisors see it greyed", async ({ page, browser }) => {
  await login(page, "admin@demo.recaudo", undefined, "/ajustes/canales");
  const card = page.getByRole("form", { name: "WhatsApp Business" });
  await card.getByLabel("Proveedor").selectOption("relay");
  await card.getByLabel("URL base del proveedor").fill("https://wa.example.com/v1");
  await card.getByLabel("Token del proveedor").fill("sk_test_abcdefgh1234");
  await card.getByLabel("Secreto de firma del webhook").fill("firma-del-webhook-de-prueba");
  await card.getByLabel("Activo (se puede usar)").uncheck();
  await card.getByRole("button", { name: "Guardar" }).click();
  await expect(card.getByRole("status")).toHaveText("Guardado.");

  await page.reload();
  const again = page.getByRole("form", { name: "WhatsApp Business" });
  await expect(again.getByLabel("Token del proveedor")).toHaveValue("");
  await expect(again.getByLabel("Token del proveedor")).toHaveAttribute("placeholder", "Guardado (…1234); vacío lo conserva");
  await expect(again.getByLabel("Activo (se puede usar)")).not.toBeChecked();
  expect(await page.content()).not.toContain("sk_test_abcdefgh1234");
  await expect(page.getByRole("region", { name: "Correo entrante" })).toContainText("/api/webhooks/relay/email");

  const advisor = await (await browser.newContext()).newPage();
  await login(advisor, "asesor1@demo.recaudo", undefined, "/conversaciones");
  await advisor.getByRole("list", { name: "Conversaciones" }).getByRole("listitem").first().getByRole("link").click();
  const radio = advisor.getByRole("form", { name: "Responder" }).getByRole("radio", { name: "WhatsApp Business", exact: true });
  await expect(radio).toBeDisabled();
  await expect(advisor.locator("label.channel.blocked", { hasText: "WhatsApp Business" })).toHaveAttribute(
    "title",
    "WhatsApp Business no está activo para la organización.",
  );
});
