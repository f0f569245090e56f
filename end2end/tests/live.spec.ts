import { execFileSync } from "node:child_process";
import { expect, Page, test } from "@playwright/test";
import { login } from "./helpers";

function inbox(page: Page) {
  return page.getByRole("list", { name: "Conversaciones" });
}

async function todo(page: Page): Promise<number> {
  return Number(await page.getByTestId("todo-count").innerText());
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
  const supervisorContext = await browser.newContext();
  const advisorContext = await browser.newContext();
  const supervisor = await supervisorContext.newPage();
  const advisor = await advisorContext.newPage();
  await login(supervisor, "supervisor1@demo.recaudo", undefined, "/conversaciones");
  await login(advisor, "asesor2@demo.recaudo", undefined, "/conversaciones");

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
  await supervisorContext.close();
  await advisorContext.close();
});

test("a supervisor on the same conversation sees who has it open and who is writing", async ({ browser }) => {
  const supervisorContext = await browser.newContext();
  const advisorContext = await browser.newContext();
  const supervisor = await supervisorContext.newPage();
  const advisor = await advisorContext.newPage();
  await login(supervisor, "supervisor1@demo.recaudo", undefined, "/conversaciones");
  await login(advisor, "asesor2@demo.recaudo", undefined, "/conversaciones");
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
  await supervisorContext.close();
  await advisorContext.close();
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
