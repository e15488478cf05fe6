/**
 * Headless Chromium for tests, driven by playwright-core. Tests skip (or fail
 * under AMOEBA_REQUIRE_ALL=1) when no Chromium binary is found.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = [process.env.AMOEBA_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The Chromium binary tests use, or undefined when there is none. */
export const chromiumPath: string | undefined = CANDIDATES.find((path): path is string => path !== undefined && path !== "" && existsSync(path));

/** Why browser tests cannot run here, or undefined when they can. */
export const chromiumMissing: string | undefined =
  chromiumPath === undefined ? "a Chromium binary is needed (Debian: apt-get install chromium; or set AMOEBA_CHROMIUM)" : undefined;

/** A headless Chromium with its own empty profile (Playwright makes one per launch and removes it on close). */
export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Starts headless Chromium, quiet on the network: it reaches only what the page asks for. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (chromiumPath === undefined) throw new Error(chromiumMissing);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

/**
 * A folder for a test's screenshots, kept after the run as artifacts:
 * AMOEBA_ARTIFACTS when set, else `test-artifacts/<name>` under the working folder.
 */
export function artifactsDir(name: string): string {
  const dir = join(process.env.AMOEBA_ARTIFACTS ?? "test-artifacts", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
