import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { serverDay } from "./clock";
import { login, open, uniqueDocument } from "./helpers";

/** A channel failure on the e2e database, as the channel adapters report it. */
function simulateFailure(address: string, problem: string) {
  execFileSync(process.env.RECAUDO_BIN!, ["simulate-failure", "--address", address, "--problem", problem], {
    cwd: "..",
    env: { ...process.env, RECAUDO_DEMO: "true", RECAUDO_DATABASE_URL: "sqlite://end2end/.e2e-data/e2e.db", RUST_LOG: "warn" },
  });
}

function isoDaysAgo(days: number): string {
  return serverDay(-days);
}

test("an administrator segments with Y/O, attaches a flow and the scheduler sends it", async ({ page }) => {
  test.setTimeout(120_000);
  await login(page, "admin@demo.recaudo");

  // A debtor 40 days overdue whose only phone turns out to be wrong: "Con problemas
  // de contactabilidad", still reachable by e-mail.
  const document = uniqueDocument();
  const phone = `300${document.slice(-7)}`;
  await open(page, "/clientes/nuevo");
  await page.getByLabel("Documento").fill(document);
  await page.getByLabel("Nombres").fill("Marta");
  await page.getByLabel("Apellidos").fill(`Flujo ${document}`);
  const contacts = page.getByRole("group", { name: "Contactos del cliente" });
  await contacts.getByRole("button", { name: "Añadir correo" }).click();
  await contacts.getByLabel("Correo 1", { exact: true }).fill(`marta.${document}@correo.co`);
  await contacts.getByRole("button", { name: "Añadir teléfono" }).click();
  await contacts.getByLabel("Teléfono 1", { exact: true }).fill(phone);
  await page.getByRole("button", { name: "Añadir deuda" }).click();
  const debt = page.getByRole("group", { name: "Deuda 1" });
  await debt.getByLabel("Número de orden").fill(`FL-${document}`);
  await debt.getByLabel("Fecha de emisión").fill(isoDaysAgo(70));
  await debt.getByLabel("Fecha de vencimiento").fill(isoDaysAgo(40));
  await debt.getByLabel("Monto").fill("800.000");
  await page.getByRole("button", { name: "Guardar cliente" }).click();
  await expect(page).toHaveURL(/\/clientes\/\d+$/);
  const clientId = page.url().match(/\/clientes\/(\d+)$/)![1];
  simulateFailure(`+57${phone}`, "wrong_phone");

  // días de atraso > 30 Y (Alerta No puede pagar O Contactabilidad = Con problemas)
  await open(page, "/estrategias/segmentos");
  await page.getByRole("button", { name: "Nuevo segmento" }).click();
  const form = page.getByRole("form", { name: "Nuevo segmento" });
  await form.getByLabel("Nombre del segmento").fill(`Mora con problemas ${document}`);
  const count = form.getByText(/clientes cumplen estas condiciones hoy/);
  await expect(count).toBeVisible();
  const everyone = Number((await count.innerText()).split(" ")[0]);
  await form.getByRole("button", { name: "Añadir condición (grupo principal)" }).click();
  await form.getByLabel("Valor de la condición 1").fill("treinta");
  await expect(form.getByText("Condición 1 (Días de atraso): «treinta» no es un número entero")).toBeVisible();
  await form.getByLabel("Valor de la condición 1").fill("30");
  await expect(count).toBeVisible();
  const over30 = Number((await count.innerText()).split(" ")[0]);
  expect(over30).toBeLessThan(everyone);

  await form.getByRole("button", { name: "Añadir subgrupo (grupo principal)" }).click();
  await form.getByLabel("Variable de la condición 2").selectOption({ label: "Alerta: Problema de no pago" });
  await form.getByLabel("Valor de la condición 2").selectOption({ label: "No puede pagar" });
  await form.getByRole("button", { name: "Añadir condición (subgrupo 1)" }).click();
  await form.getByLabel("Variable de la condición 3").selectOption({ label: "Contactabilidad" });
  await form.getByLabel("Valor de la condición 3").selectOption({ label: "Con problemas de contactabilidad" });
  await expect(form.getByLabel("Conector del subgrupo 1")).toHaveValue("or");
  await expect(async () => {
    const n = Number((await count.innerText()).split(" ")[0]);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThan(over30);
  }).toPass();
  await form.getByRole("button", { name: "Guardar segmento" }).click();
  await expect(
    page.getByRole("cell", {
      name: "Días de atraso mayor que 30 Y (Alerta: Problema de no pago es No puede pagar O Contactabilidad es Con problemas de contactabilidad)",
    }).first(),
  ).toBeVisible();

  // The flow: day 40 sends the account statement by e-mail and puts a call in the tray.
  await open(page, "/estrategias/flujos");
  await page.getByRole("button", { name: "Nuevo flujo" }).click();
  const flowForm = page.getByRole("form", { name: "Nuevo flujo" });
  const flowName = `Mora 40 ${document}`;
  await flowForm.getByLabel("Nombre del flujo").fill(flowName);
  await flowForm.getByLabel("Segmento").selectOption({ label: `Mora con problemas ${document}` });
  await flowForm.getByLabel("Día del paso 1").fill("40");
  await flowForm.getByLabel("Acción del paso 1").selectOption({ label: "Plantilla «Estado de cuenta» (Correo electrónico)" });
  await flowForm.getByRole("button", { name: "Añadir paso" }).click();
  await flowForm.getByLabel("Día del paso 2").fill("40");
  await expect(flowForm.getByLabel("Acción del paso 2")).toHaveValue("");
  await flowForm.getByRole("button", { name: "Guardar flujo" }).click();
  const card = page.getByRole("region", { name: `Flujo ${flowName}` });
  await expect(card).toContainText("40 días después del vencimiento: plantilla «Estado de cuenta» por Correo electrónico");
  await expect(card).toContainText("40 días después del vencimiento: llamada en la bandeja Llamadas");

  // Contact every day and hour, so that the run does not wait for the next window.
  const hours = page.getByRole("form", { name: "Horario de contacto y canal alternativo" });
  await hours.getByLabel("Domingo").check();
  await hours.getByLabel("Desde").fill("00:00");
  await hours.getByLabel("Hasta").fill("23:59");
  await hours.getByRole("button", { name: "Guardar horario" }).click();
  await expect(hours.getByRole("status")).toHaveText("Guardado.");

  await page.getByRole("button", { name: "Ejecutar programador ahora" }).click();
  await expect(page.getByRole("region", { name: "Programador" }).getByRole("status")).toContainText("Flujo:");
  // The server's own pass may have sent it first: either way the step went out once.
  await open(page, "/estrategias/flujos");
  await expect(page.getByRole("region", { name: `Flujo ${flowName}` })).toContainText(/Correo electrónico · enviados: [1-9]/);

  // The advisor-facing side: the message in the conversation, and the call scheduled.
  await open(page, `/conversaciones/${clientId}`);
  const conversation = page.getByRole("region", { name: "Conversación" });
  await expect(conversation.getByText(/Este es el detalle de su deuda/)).toHaveCount(1);
  await expect(conversation.getByText("Flujo", { exact: true }).first()).toBeVisible();
  await expect(conversation.getByText(/Flujo de comunicaciones/)).toBeVisible();

  // Leave the demo as it was for the other tests.
  await open(page, "/estrategias/flujos");
  await page.getByRole("region", { name: `Flujo ${flowName}` }).getByRole("button", { name: "Eliminar" }).click();
  await expect(page.getByRole("region", { name: `Flujo ${flowName}` })).toHaveCount(0);
  const restore = page.getByRole("form", { name: "Horario de contacto y canal alternativo" });
  await restore.getByLabel("Domingo").uncheck();
  await restore.getByLabel("Desde").fill("08:00");
  await restore.getByLabel("Hasta").fill("20:00");
  await restore.getByRole("button", { name: "Guardar horario" }).click();
  await expect(restore.getByRole("status")).toHaveText("Guardado.");
});
