import { expect, test } from "@playwright/test";
import { serverDay } from "./clock";
import { hydrated, login } from "./helpers";

/** Today in the organisation's zone, as a date input takes it. */
function today(): string {
  return serverDay();
}

test("a debtor opens the Paga aquí link, declares a payment, and the advisor sees the visit and the payment to verify", async ({ page, browser }) => {
  await login(page, "asesor1@demo.recaudo", undefined, "/conversaciones");
  const rows = page.getByRole("list", { name: "Conversaciones" }).getByRole("listitem");
  await expect(rows.first()).toBeVisible();
  const form = page.getByRole("form", { name: "Responder" });
  let found = false;
  for (let i = 0; i < (await rows.count()) && !found; i++) {
    await rows.nth(i).getByRole("link").click();
    await page.getByRole("tab", { name: /^Cliente/ }).click();
    const sms = form.getByRole("radio", { name: "SMS", exact: true });
    if ((await sms.count()) > 0 && !(await sms.isDisabled())) {
      await sms.check();
      found = true;
    }
  }
  expect(found, "a client reachable by SMS").toBe(true);
  // The name's own button: the heading also carries the client's alert flags.
  const name = (await page.getByRole("heading", { level: 2 }).getByRole("button").first().innerText()).trim();

  // The "Paga aquí" insert becomes the client's signed link when the message is written.
  await form.getByLabel("Mensaje").fill("Puede pagar aquí:");
  await form.getByRole("button", { name: "Paga aquí" }).click();
  await expect(form.getByLabel("Mensaje")).toHaveValue("Puede pagar aquí: {{link_pago}}");
  await form.getByRole("button", { name: "Enviar" }).click();
  const sent = page.getByRole("tabpanel").locator("li.message.outbound").filter({ hasText: "Puede pagar aquí:" });
  await expect(sent).toHaveCount(1);
  const link = (await sent.locator(".body").innerText()).match(/https?:\/\/\S+\/pago\/\S+/)![0];

  // A chat app's link preview fetches the page without running it: no visit.
  const visits = page.locator("li.visit").filter({ hasText: "Visita página de cobros — Paga aquí" });
  const before = await visits.count();
  const preview = await page.request.get(link, { headers: { "User-Agent": "WhatsApp/2.23.20.0 A" } });
  expect(preview.status()).toBe(200);
  expect(preview.headers()["content-security-policy"]).toContain("script-src 'self' 'nonce-");

  // The debtor, with no session, on the public page.
  const debtor = await (await browser.newContext()).newPage();
  await debtor.goto(link);
  await hydrated(debtor);
  await expect(debtor.getByRole("heading", { name: `Hola, ${name}` })).toBeVisible();
  await expect(debtor.getByRole("region", { name: "Cómo pagar" })).toContainText("indicando tu número de documento");
  await debtor.getByRole("button", { name: "Ver detalle" }).click();
  await expect(debtor.getByRole("table", { name: "Detalle de la deuda" })).toBeVisible();
  await debtor.getByRole("button", { name: "Ya pagué" }).click();
  const declare = debtor.getByRole("form", { name: "Registrar pago a verificar" });
  await declare.getByLabel("Fecha del pago").fill(today());
  await declare.getByLabel("Monto").fill("15000");
  await declare.getByLabel("Referencia").fill("PORTAL-1");
  await declare.getByLabel("Comprobante").setInputFiles({
    name: "comprobante.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from("%PDF-1.4 comprobante"),
  });
  await declare.getByRole("button", { name: "Registrar pago a verificar" }).click();
  await expect(debtor.getByRole("status")).toHaveText("Recibimos tu pago. Tu asesor lo verificará y te confirmará.");

  // A changed link opens nothing.
  await debtor.goto(link.replace(/.$/, (c) => (c === "0" ? "1" : "0")));
  await expect(debtor.getByRole("heading", { name: "Enlace no válido" })).toBeVisible();
  await expect(debtor.getByRole("alert")).toHaveText("El enlace no es válido. Pide a tu asesor uno nuevo.");

  // The advisor sees the visit with its states beside the messages, and the payment.
  await page.reload();
  await hydrated(page);
  // A reload opens the tab with pending messages first; the visits are the client's.
  await page.getByRole("tab", { name: /^Cliente/ }).click();
  await expect(visits).toHaveCount(before + 1);
  const visit = visits.last();
  await expect(visit.locator("ol.states li")).toHaveText([/^Abrió el enlace/, /^Consultó la deuda/, /^Declaró un pago/]);
  await expect(page.getByRole("complementary", { name: "Deuda" })).toContainText(/15\.000,00 del/);
  await page.goto("/pagos-a-verificar");
  await hydrated(page);
  const queued = page.getByRole("row").filter({ hasText: "PORTAL-1" });
  await expect(queued).toContainText(name);
  await expect(queued).toContainText("Web de cobros (deudor)");
});
