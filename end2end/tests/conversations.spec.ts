import { expect, Page, test } from "@playwright/test";
import { hydrated, login } from "./helpers";

function inbox(page: Page) {
  return page.getByRole("list", { name: "Conversaciones" });
}

async function todo(page: Page): Promise<number> {
  return Number(await page.getByTestId("todo-count").innerText());
}

/** The pending badge of every row on screen. */
async function pendingBadges(page: Page): Promise<number[]> {
  const badges = inbox(page).locator(".badge");
  return (await badges.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-pending")))));
}

test("an advisor answers the inbox: counter, pending tab, Omitir without reloading", async ({ page }) => {
  await login(page, "asesor1@demo.recaudo", undefined, "/conversaciones");
  const rows = inbox(page).getByRole("listitem");
  await expect(rows.first()).toBeVisible();
  // Only their own conversations, every one pending, and the counter is their sum.
  await expect(page.getByLabel("Clientes", { exact: true })).toBeDisabled();
  const badges = await pendingBadges(page);
  expect(badges.length).toBe(await rows.count());
  expect(badges.every((n) => n > 0)).toBe(true);
  expect(await todo(page)).toBe(badges.reduce((a, b) => a + b, 0));
  const advisors = await inbox(page).locator(".row-advisor").allInnerTexts();
  expect(new Set(advisors)).toEqual(new Set(["Camila Rojas"]));

  // A conversation whose pending message is in the references' tab.
  const before = await todo(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  let opened = false;
  for (let i = 0; i < (await rows.count()) && !opened; i++) {
    await rows.nth(i).getByRole("link").click();
    await expect(page).toHaveURL(/\/conversaciones\/\d+/);
    const tab = page.getByRole("tab", { name: /Referencias/ });
    await expect(tab).toBeVisible();
    if ((await tab.getAttribute("aria-selected")) === "true") {
      opened = true;
    }
  }
  expect(opened, "some conversation opens on the references' tab").toBe(true);
  await expect(page.getByRole("tab", { name: /Cliente/ })).toHaveAttribute("aria-selected", "false");
  const name = (await page.getByRole("heading", { level: 2 }).innerText()).trim();
  const row = rows.filter({ hasText: name });
  const rowPending = Number(await row.locator(".badge").getAttribute("data-pending"));
  const tabPending = Number((await page.getByRole("tab", { name: /Referencias/ }).locator(".badge").innerText()).match(/\d+/)![0]);
  await expect(page.getByRole("tabpanel").getByText("Sin responder").first()).toBeVisible();

  await page.getByRole("button", { name: "Omitir" }).click();
  await expect(page.getByRole("tab", { name: /Referencias/ }).locator(".badge")).toHaveCount(0);
  await expect(page.getByRole("tabpanel").getByText(/^Omitido por Camila Rojas/).first()).toBeVisible();
  await expect.poll(() => todo(page)).toBe(before - tabPending);
  if (rowPending === tabPending) {
    await expect(row).toHaveCount(0);
  } else {
    await expect(row.locator(".badge")).toHaveAttribute("data-pending", String(rowPending - tabPending));
  }
  // No reload happened: the marker set on this document is still there.
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test("the conversation shows the client's data, the debt and each message's status history", async ({ page }) => {
  await login(page, "asesor2@demo.recaudo", undefined, "/conversaciones?ver=todas");
  await inbox(page).getByRole("listitem").first().getByRole("link").click();
  await expect(page.getByRole("complementary", { name: "Deuda" })).toContainText("Días de atraso");
  const title = page.getByRole("heading", { level: 2 }).getByRole("button");
  await title.click();
  await expect(title).toHaveAttribute("aria-expanded", "true");
  await expect(page.getByRole("region", { name: "Datos del cliente" })).toContainText("Documento");
  const status = page.getByRole("button", { name: /^Estado: / }).first();
  if (await status.count()) {
    await status.click();
    await expect(page.locator(".history li").first()).toContainText("En cola");
  }
  // Internal notes are kept in the conversation.
  await page.getByLabel("Nota interna (solo la ven los usuarios)").fill("Prometió llamar el lunes");
  await page.getByRole("button", { name: "Guardar nota" }).click();
  await expect(page.getByRole("tabpanel").getByText("Prometió llamar el lunes")).toBeVisible();
});

test("a supervisor filters by a team member and sorts by days overdue and amount", async ({ page }) => {
  await login(page, "supervisor1@demo.recaudo", undefined, "/conversaciones");
  await expect(inbox(page).getByRole("listitem").first()).toBeVisible();
  const advisors = new Set(await inbox(page).locator(".row-advisor").allInnerTexts());
  expect(advisors).toEqual(new Set(["Camila Rojas", "Andrés Gómez"]));

  await page.getByLabel("Asesor").selectOption({ label: "Andrés Gómez" });
  await expect(page).toHaveURL(/asesor=\d+/);
  await expect.poll(async () => new Set(await inbox(page).locator(".row-advisor").allInnerTexts())).toEqual(
    new Set(["Andrés Gómez"]),
  );

  await page.getByLabel("Ordenar por").selectOption("dias-desc");
  await expect(page).toHaveURL(/orden=dias-desc/);
  await hydrated(page);
  await expect.poll(async () => {
    const days = await inbox(page).locator(".row-days").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-days"))));
    return days.length > 1 && days.every((d, i) => i === 0 || days[i - 1] >= d);
  }).toBe(true);

  await page.getByLabel("Ordenar por").selectOption("monto-asc");
  await expect(page).toHaveURL(/orden=monto-asc/);
  await expect.poll(async () => {
    const cents = await inbox(page).locator(".row-amount").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-cents"))));
    return cents.length > 1 && cents.every((c, i) => i === 0 || cents[i - 1] <= c);
  }).toBe(true);
});

test("keyboard: j moves, Enter opens, ? shows the shortcuts", async ({ page }) => {
  await login(page, "asesor3@demo.recaudo", undefined, "/conversaciones");
  await expect(inbox(page).getByRole("listitem").first()).toBeVisible();
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("?");
  await expect(page.getByRole("dialog", { name: "Atajos de teclado" })).toBeVisible();
  await page.keyboard.press("Escape");
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  await page.keyboard.press("Enter");
  const second = await inbox(page).getByRole("listitem").nth(1).getByRole("link").getAttribute("href");
  await expect(page).toHaveURL(new RegExp(second!.split("?")[0] + "(\\?|$)"));
  await page.keyboard.press("/");
  await expect(page.getByLabel("Buscar", { exact: true })).toBeFocused();
});
