import { execFileSync } from "node:child_process";
import { Browser, expect, Page, test } from "@playwright/test";
import { login } from "./helpers";

function inbox(page: Page) {
  return page.getByRole("list", { name: "Conversaciones" });
}

async function todo(page: Page): Promise<number> {
  return Number(await page.getByTestId("todo-count").innerText());
}

/**
 * Laura Castillo (supervisor1) on Recibidos and Andrés Gómez (asesor2, of her team) on
 * `advisorPath`, each signed in in a browser of their own.
 */
async function lauraAndAndres(browser: Browser, advisorPath: string) {
  const supervisorContext = await browser.newContext();
  const advisorContext = await browser.newContext();
  const supervisor = await supervisorContext.newPage();
  const advisor = await advisorContext.newPage();
  await login(supervisor, "supervisor1@demo.recaudo", undefined, "/conversaciones");
  await login(advisor, "asesor2@demo.recaudo", undefined, advisorPath);
  const close = async () => {
    await supervisorContext.close();
    await advisorContext.close();
  };
  return { supervisor, advisor, close };
}

/** Inbound messages from the debtors' own addresses, written by another process. */
function simulateMessages(n: number): number {
  const out = execFileSync(process.env.RECAUDO_BIN!, ["simulate", "--messages", String(n)], {
    cwd: "..",
    env: { ...process.env, RECAUDO_DEMO: "true", RECAUDO_DATABASE_URL: "sqlite://end2end/.e2e-data/e2e.db", RUST_LOG: "warn" },
  }).toString();
  return Number(out.match(/llegaron a (\d+) conversaciones/)![1]);
}

test("a supervisor's Recibidos follows an advisor's work without a reload", async ({ browser }) => {
  const { supervisor, advisor, close } = await lauraAndAndres(browser, "/conversaciones");

  // A pending conversation of Andrés Gómez's, on the supervisor's screen.
  const rows = inbox(supervisor).getByRole("listitem");
  await expect(rows.first()).toBeVisible();
  const row = rows.filter({ has: supervisor.locator(".row-advisor", { hasText: "Andrés Gómez" }) }).first();
  await expect(row).toBeVisible();
  const id = (await row.getByRole("link").getAttribute("id"))!.replace("inbox-row-", "");
  const rowPending = Number(await row.locator(".badge").getAttribute("data-pending"));
  const before = await todo(supervisor);
  await supervisor.evaluate(() => ((window as any).__sameDocument = true));

  // The advisor opens it and omits everything pending ("o").
  await advisor.goto(`/conversaciones/${id}`);
  await advisor.locator("body[data-hydrated]").waitFor({ state: "attached" });
  await expect(advisor.getByRole("heading", { level: 2 })).toBeVisible();
  await advisor.keyboard.press("o");

  const gone = supervisor.locator(`#inbox-row-${id}`);
  await expect(gone).toHaveCount(0, { timeout: 2_000 });
  await expect.poll(() => todo(supervisor), { timeout: 2_000 }).toBe(before - rowPending);
  expect(await supervisor.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await close();
});

test("a supervisor on the same conversation sees who has it open and who is writing", async ({ browser }) => {
  const { supervisor, advisor, close } = await lauraAndAndres(browser, "/conversaciones");
  const row = inbox(supervisor)
    .getByRole("listitem")
    .filter({ has: supervisor.locator(".row-advisor", { hasText: "Andrés Gómez" }) })
    .first();
  await expect(row).toBeVisible();
  const id = (await row.getByRole("link").getAttribute("id"))!.replace("inbox-row-", "");

  await advisor.goto(`/conversaciones/${id}`);
  await advisor.locator("body[data-hydrated]").waitFor({ state: "attached" });
  const composer = advisor.getByRole("form", { name: "Responder" });
  await expect(composer).toBeVisible();
  const sms = composer.getByRole("radio", { name: "SMS", exact: true });
  if ((await sms.count()) > 0) {
    await sms.check();
  }
  await supervisor.goto(`/conversaciones/${id}`);
  await supervisor.locator("body[data-hydrated]").waitFor({ state: "attached" });
  await expect(supervisor.getByText("Andrés Gómez también tiene abierta esta conversación")).toBeVisible();
  await expect(advisor.getByText("Laura Castillo también tiene abierta esta conversación")).toBeVisible();

  await composer.getByLabel("Mensaje").pressSequentially("Buenas tardes, le escribo por su saldo", { delay: 60 });
  await expect(supervisor.getByText("Andrés Gómez está respondiendo")).toBeVisible();
  await close();
});

test("messages that arrive while the browser is offline show once it is back", async ({ page, context }) => {
  await login(page, "admin@demo.recaudo", undefined, "/conversaciones");
  await expect(inbox(page).getByRole("listitem").first()).toBeVisible();
  const before = await todo(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));

  await context.setOffline(true);
  let landed = 0;
  while (landed === 0) {
    landed = simulateMessages(3);
  }
  await page.waitForTimeout(1_500);
  await context.setOffline(false);

  await expect.poll(() => todo(page), { timeout: 10_000 }).toBeGreaterThan(before);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test("a conversation that becomes pending waits behind a marker instead of moving the list", async ({ browser }) => {
  const { supervisor, advisor, close } = await lauraAndAndres(browser, "/conversaciones?ver=todas");

  // One of Andrés Gómez's conversations with nothing pending: not in the supervisor's list.
  const quiet = inbox(advisor).getByRole("listitem").filter({ hasNot: advisor.locator(".badge") }).first();
  await expect(quiet).toBeVisible();
  const id = (await quiet.getByRole("link").getAttribute("id"))!.replace("inbox-row-", "");
  await expect(inbox(supervisor).getByRole("listitem").first()).toBeVisible();
  await expect(supervisor.locator(`#inbox-row-${id}`)).toHaveCount(0);
  const firstRow = await inbox(supervisor).getByRole("link").first().getAttribute("id");

  // The debtor answers (the sandbox's reply comes back through the webhook).
  await advisor.goto(`/conversaciones/${id}`);
  await advisor.locator("body[data-hydrated]").waitFor({ state: "attached" });
  await advisor.getByRole("button", { name: "Simular respuesta del deudor (sandbox)" }).click();
  await expect(advisor.getByText("El deudor responderá en unos segundos.")).toBeVisible();

  const marker = supervisor.getByRole("button", { name: /^\d+ nuevas? · Mostrar$/ });
  await expect(marker).toBeVisible({ timeout: 20_000 });
  // Nothing slid in above the row that was on top.
  expect(await inbox(supervisor).getByRole("link").first().getAttribute("id")).toBe(firstRow);
  await expect(supervisor.locator(`#inbox-row-${id}`)).toHaveCount(0);
  await marker.click();
  await expect(supervisor.locator(`#inbox-row-${id}`)).toBeVisible();
  await expect(marker).toHaveCount(0);
  await close();
});

test("a second user is asked before calling or writing to a debtor another user just called", async ({ browser }) => {
  const { supervisor, advisor, close } = await lauraAndAndres(browser, "/conversaciones");
  // The last of the first page: the other files' tests answer from the top, and the
  // guard would rightly ask them too within the next five minutes.
  await expect(inbox(advisor).getByRole("listitem").first()).toBeVisible();
  const row = inbox(advisor).getByRole("listitem").last();
  const id = (await row.getByRole("link").getAttribute("id"))!.replace("inbox-row-", "");

  const registerNoAnswer = async (page: Page) => {
    await page.goto(`/conversaciones/${id}`);
    await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
    await page.getByRole("button", { name: "Registrar gestión" }).click();
    const form = page.getByRole("dialog", { name: "Registrar gestión" });
    await expect(form).toBeVisible();
    await page.keyboard.press("2");
    await form.getByRole("radio", { name: /No contesta/ }).check();
    await form.getByRole("button", { name: "Guardar gestión" }).click();
    return form;
  };
  await expect(await registerNoAnswer(advisor)).toBeHidden();

  // The supervisor's outcome waits for an answer to the question, naming the call.
  const form = await registerNoAnswer(supervisor);
  const question = form.getByRole("alert").filter({ hasText: "Otra persona atendió a este cliente" });
  await expect(question).toContainText(
    /Andrés Gómez registró la gestión «No contesta \/ Ocupado» a las \d\d:\d\d \(hace menos de un minuto\)/,
  );
  await expect(form).toBeVisible();
  await question.getByRole("button", { name: "Guardar de todos modos" }).click();
  await expect(form).toBeHidden();

  // Writing to the debtor asks the same (what the contact policy then says is its own matter).
  const composer = supervisor.getByRole("form", { name: "Responder" });
  await expect(composer).toBeVisible();
  for (const name of ["SMS", "Correo electrónico", "WhatsApp"]) {
    const radio = composer.getByRole("radio", { name, exact: true });
    if ((await radio.count()) > 0 && !(await radio.isDisabled())) {
      await radio.check();
      if ((await composer.getByLabel("Mensaje").count()) > 0) break;
    }
  }
  await composer.getByLabel("Mensaje").fill("Buenas tardes, le escribe la supervisora");
  await composer.getByRole("button", { name: "Enviar" }).click();
  const asked = composer.getByRole("alert").filter({ hasText: "Andrés Gómez registró la gestión" });
  await expect(asked).toBeVisible();
  await expect(asked.getByRole("button", { name: "Enviar de todos modos" })).toBeVisible();
  await asked.getByRole("button", { name: "Cancelar" }).click();
  await expect(asked).toHaveCount(0);
  await expect(composer.getByLabel("Mensaje")).toHaveValue("Buenas tardes, le escribe la supervisora");
  await close();
});
