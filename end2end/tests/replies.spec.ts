import { expect, Locator, Page, test } from "@playwright/test";
import { login } from "./helpers";

function inbox(page: Page) {
  return page.getByRole("list", { name: "Conversaciones" });
}

function composer(page: Page): Locator {
  return page.getByRole("form", { name: "Responder" });
}

function channel(page: Page, name: string): Locator {
  return composer(page).getByRole("radio", { name, exact: true });
}

/** Opens the inbox's conversations one by one until `wanted` holds for one. */
async function findConversation(page: Page, wanted: () => Promise<boolean>): Promise<string> {
  const rows = inbox(page).getByRole("listitem");
  // A change heard on the event stream rebuilds the list: count it once it is whole.
  let count = 0;
  await expect.poll(async () => (count = await rows.count())).toBeGreaterThan(0);
  for (let i = 0; i < count; i++) {
    await rows.nth(i).getByRole("link").click();
    await expect(page).toHaveURL(/\/conversaciones\/\d+/);
    await expect(composer(page).or(page.locator(".composer.empty"))).toBeVisible();
    if (await wanted()) {
      return (await page.getByRole("heading", { level: 2 }).innerText()).trim();
    }
  }
  throw new Error("no conversation in the inbox fits");
}

test("an advisor answers a pending WhatsApp on its default channel and sees it delivered and read", async ({ page }) => {
  await login(page, "asesor2@demo.recaudo", undefined, "/conversaciones");
  // A conversation pending only in the client's tab, written on WhatsApp.
  const name = await findConversation(page, async () => {
    const clientTab = page.getByRole("tab", { name: /^Cliente/ });
    if ((await clientTab.getAttribute("aria-selected")) !== "true") return false;
    if ((await clientTab.locator(".badge").count()) === 0) return false;
    if ((await page.getByRole("tab", { name: /Referencias|Garantes/ }).locator(".badge").count()) > 0) return false;
    if (!(await channel(page, "WhatsApp").isChecked())) return false;
    // Checked because the debtor wrote on WhatsApp, which opened the 24-hour window.
    return (await composer(page).getByText(/Ventana de 24 horas abierta hasta el/).count()) > 0;
  });
  await composer(page).getByLabel("Mensaje").fill("Hola, le comparto el detalle de su deuda.");
  await composer(page).getByRole("button", { name: "Enviar" }).click();

  // Answered: it leaves the pending view at once.
  await expect(inbox(page).getByRole("listitem").filter({ hasText: name })).toHaveCount(0);
  await expect(page.getByRole("tab", { name: /^Cliente/ }).locator(".badge")).toHaveCount(0);
  const sent = page.getByRole("tabpanel").locator("li.message.outbound").filter({ hasText: "le comparto el detalle" });
  await expect(sent).toHaveCount(1);
  // The sandbox's callbacks arrive through the webhook and the screen follows them live.
  await expect(sent.getByRole("button", { name: "Estado: Entregado" })).toBeVisible({ timeout: 20_000 });
  await expect(sent.getByRole("button", { name: "Estado: Leído" })).toBeVisible({ timeout: 20_000 });
  await sent.getByRole("button", { name: "Estado: Leído" }).click();
  await expect(sent.locator("ol.history li")).toHaveText([/^En cola/, /^Enviado/, /^Entregado/, /^Leído/]);
});

test("e-mail with a copy and an attachment; greyed channels cannot be chosen; outside the window only templates", async ({ page }) => {
  await login(page, "asesor2@demo.recaudo", undefined, "/conversaciones");

  // A client with an e-mail and a related party whose e-mail is offered as a copy.
  await findConversation(page, async () => {
    await page.getByRole("tab", { name: /^Cliente/ }).click();
    const email = channel(page, "Correo electrónico");
    if ((await email.count()) === 0 || (await email.isDisabled())) return false;
    await email.check();
    return (await composer(page).getByRole("group", { name: "Sugerencias de copia" }).count()) > 0;
  });
  const form = composer(page);
  await form.getByLabel("Asunto").fill("Detalle de su deuda");
  await form.getByLabel("Mensaje").fill("Adjunto el detalle. {{nombre}}, quedamos atentos.");
  const suggestion = form.getByRole("group", { name: "Sugerencias de copia" }).getByRole("button", { name: /^CC: / }).first();
  const copied = (await suggestion.innerText()).match(/<(.+)>/)![1];
  await expect(form.getByLabel("CC", { exact: true })).toHaveValue("");
  await suggestion.click();
  await expect(form.getByLabel("CC", { exact: true })).toHaveValue(copied);
  await form.getByLabel("Adjuntar desde la computadora").setInputFiles({
    name: "detalle.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from("%PDF-1.4 detalle"),
  });
  await form.getByRole("button", { name: "Enviar" }).click();
  const mail = page.getByRole("tabpanel").locator("li.message.outbound").filter({ hasText: "Detalle de su deuda" });
  await expect(mail).toHaveCount(1);
  await expect(mail.getByText(`CC: ${copied}`)).toBeVisible();
  await expect(mail.getByRole("link", { name: "detalle.pdf" })).toBeVisible();
  await expect(mail.getByText(/\{\{nombre\}\}/)).toHaveCount(0);
  await expect(form.getByLabel("Asunto")).toHaveValue("");

  // A channel this party cannot be written on is greyed, says why, and stays unchosen.
  await findConversation(page, async () => {
    for (const tab of await page.getByRole("tab").all()) {
      await tab.click();
      if ((await composer(page).getByRole("radio", { disabled: true }).count()) > 0) return true;
    }
    return false;
  });
  const greyed = composer(page).getByRole("radio", { disabled: true }).first();
  await expect(greyed).toBeDisabled();
  await expect(composer(page).locator("label.channel.blocked").first()).toHaveAttribute("title", /.+/);
  await greyed.click({ force: true });
  await expect(greyed).not.toBeChecked();

  // Outside the 24-hour window WhatsApp offers approved templates only.
  await findConversation(page, async () => {
    await page.getByRole("tab", { name: /^Cliente/ }).click();
    const wa = channel(page, "WhatsApp");
    if ((await wa.count()) === 0 || (await wa.isDisabled())) return false;
    await wa.check();
    if ((await composer(page).getByText(/Fuera de la ventana de 24 horas/).count()) === 0) return false;
    // Other tests write to the demo's debtors on the same server: a debtor the contact
    // rules already block today (one contact a day, one channel a week) does not fit.
    await expect(composer(page)).not.toHaveAttribute("aria-busy", "true");
    return (await composer(page).locator(".notice.policy.error").count()) === 0;
  });
  await expect(composer(page).getByLabel("Mensaje")).toHaveCount(0);
  await composer(page).getByRole("button", { name: "Plantillas" }).click();
  const picker = composer(page).getByRole("group", { name: "Plantillas" });
  await expect(picker.getByRole("button", { name: /^Usar/ })).toHaveText(["Usar «Recordatorio de pago»"]);
  await picker.getByRole("button", { name: "Usar «Recordatorio de pago»" }).click();
  const chosen = composer(page).getByLabel("Plantilla elegida");
  await expect(chosen).toContainText(/Hola .+, te recordamos que tienes un saldo vencido/);
  await expect(chosen).toContainText(/\/pago\/\d+-\d+-[0-9a-f]{64}/);
  await composer(page).getByRole("button", { name: "Enviar" }).click();
  await expect(
    page.getByRole("tabpanel").locator("li.message.outbound").filter({ hasText: "te recordamos que tienes un saldo vencido" }),
  ).toHaveCount(1);
});
