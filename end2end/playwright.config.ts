import { defineConfig, devices } from "@playwright/test";
import { clockStart } from "./tests/clock";

// The server under test is the binary `cargo leptos build` produced, started on a fresh
// SQLite database in demo mode. scripts/test.sh builds it and sets RECAUDO_BIN.
const port = Number(process.env.E2E_PORT ?? 3100);
const bin = process.env.RECAUDO_BIN;
if (!bin) {
  throw new Error("RECAUDO_BIN is not set: run the browser tests through scripts/test.sh");
}

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    locale: "es-CO",
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          // Without the background-networking flags Chromium floods this closed network.
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  webServer: {
    command: `rm -rf end2end/.e2e-data && mkdir -p end2end/.e2e-data && exec "${bin}" serve`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/login`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      RECAUDO_DATABASE_URL: "sqlite://end2end/.e2e-data/e2e.db",
      RECAUDO_BIND_ADDRESS: `127.0.0.1:${port}`,
      RECAUDO_DEMO: "true",
      LEPTOS_SITE_ROOT: "target/site",
      RECAUDO_CLOCK_START: clockStart.toISOString(),
      RUST_LOG: "warn",
    },
  },
});
