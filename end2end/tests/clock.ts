import { readFileSync } from "node:fs";
import { join } from "node:path";

// The contact policy decides what may be sent by the debtor's day and hour, so the
// server under test runs its clock from a fixed moment (RECAUDO_CLOCK_START): 10:00 in
// Bogotá on the latest Monday–Thursday no later than today that is a working day followed
// by another (neither a Colombian or Chilean holiday), so a contact refused for the day
// is next allowed at 07:00 the following morning. The holidays are the migration's own
// data.

const HOUR_UTC = 15;
const DAY_MS = 86_400_000;

function holidays(): Set<string> {
  const sql = readFileSync(join(__dirname, "..", "..", "migrations", "sqlite", "0009_governance.sql"), "utf8");
  return new Set([...sql.matchAll(/\('(?:CO|CL)', '(\d{4}-\d{2}-\d{2})'/g)].map((m) => m[1]));
}

function workingDay(): Date {
  const closed = holidays();
  const today = new Date();
  let day = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), HOUR_UTC);
  for (;;) {
    const d = new Date(day);
    const weekday = d.getUTCDay();
    const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
    if (weekday >= 1 && weekday <= 4 && !closed.has(iso(day)) && !closed.has(iso(day + DAY_MS))) {
      return d;
    }
    day -= DAY_MS;
  }
}

/** The instant the server's clock starts at. */
export const clockStart: Date = workingDay();

/** The server's day (the organisation's zone, Bogotá) `plusDays` after its first. */
export function serverDay(plusDays = 0): string {
  return new Date(clockStart.getTime() + plusDays * DAY_MS).toISOString().slice(0, 10);
}
