import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, Page, test } from "@playwright/test";
import { login, open } from "./helpers";

/** A stand-in for Twilio's Calls.json on loopback: records each request's form. */
async function twilioStandIn(): Promise<{ port: number; calls: URLSearchParams[]; close: () => void }> {
  const calls: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      calls.push(new URLSearchParams(body));
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ sid: `CA${String(calls.length).padStart(32, "0")}`, status: "queued" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, calls, close: () => server.close() };
}

/** On the admin's page: the Llamada channel's provider (and Twilio's account). */
async function setCallProvider(page: Page, provider: string, account?: string) {
  await open(page, "/ajustes/canales");
  const card = page.getByRole("form", { name: "Llamada" });
  await card.getByLabel("Proveedor", { exact: true }).selectOption(provider);
  if (account) {
    await card.getByLabel("URL base del proveedor").fill(account);
    await card.getByLabel(/^Remitente/).fill("+15005550006");
    await card.getByLabel("Token del proveedor").fill("token-de-voz-e2e");
  }
  await card.getByRole("button", { name: "Guardar" }).click();
  await expect(card.getByRole("status")).toHaveText("Guardado.");
}

test("with Twilio on Llamada, Llamar rings the advisor's phone first and the call is in the conversation", async ({ page, browser }) => {
  const twilio = await twilioStandIn();
  await login(page, "admin@demo.recaudo", undefined, "/conversaciones");
  try {
    await setCallProvider(page, "twilio", `http://127.0.0.1:${twilio.port}/2010-04-01/Accounts/AC0e2e`);
    await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Usuarios" }).click();
    await page.getByRole("link", { name: "Mateo Herrera" }).click();
    await page.getByLabel("Teléfono para llamadas (+57…)").fill("310 555");
    await page.getByRole("button", { name: "Guardar usuario" }).click();
    await expect(page.getByLabel("Teléfono para llamadas (+57…)")).toHaveAccessibleDescription(/código de país/);
    await page.getByLabel("Teléfono para llamadas (+57…)").fill("+57 310 555 0000");
    await page.getByRole("button", { name: "Guardar usuario" }).click();
    await expect(page).toHaveURL(/\/usuarios$/);

    const advisor = await (await browser.newContext()).newPage();
    await login(advisor, "asesor4@demo.recaudo", undefined, "/conversaciones");
    await advisor.getByRole("list", { name: "Conversaciones" }).getByRole("listitem").first().getByRole("link").click();
    const phones = advisor.getByRole("region", { name: "Teléfonos" });
    const dial = phones.getByRole("button", { name: /^Llamar a / }).first();
    const number = (await dial.innerText()).replace("Llamar a ", "").trim();
    await dial.click();
    await expect(phones.getByRole("status")).toHaveText(
      `Tu teléfono (+573105550000) va a sonar; al contestar te conectamos con ${number}.`,
    );
    // Gestión opens for the outcome, as with the phone's own dialler.
    await expect(advisor.getByRole("dialog", { name: "Registrar gestión" })).toBeVisible();

    expect(twilio.calls).toHaveLength(1);
    expect(twilio.calls[0].get("To")).toBe("+573105550000");
    expect(twilio.calls[0].get("From")).toBe("+15005550006");
    expect(twilio.calls[0].get("Twiml")).toContain(`<Number>${number}</Number>`);

    await advisor.reload();
    // The call is in the client's tab; the conversation may open on another with pending messages.
    await advisor.getByRole("tab", { name: /^Cliente/ }).click();
    const call = advisor.getByRole("listitem").filter({ hasText: `Llamada a ${number}` }).last();
    await expect(call).toBeVisible();
    await expect(call.getByRole("button", { name: "Estado: Llamando" })).toBeVisible();
  } finally {
    await setCallProvider(page, "");
    twilio.close();
  }
});
