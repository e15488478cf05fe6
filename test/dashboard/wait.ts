/** Waiting on the dashboard's page in the browser tests. */
import type { Locator } from "playwright-core";

/** Generous for a loaded machine. */
const WAIT_MS = 45_000;

/**
 * Polls `check` until it holds (the page's Content-Security-Policy forbids
 * the string evaluation that waitForFunction uses).
 */
export async function until(check: () => Promise<boolean>, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Opens a trace; the list is redrawn every interval, so it is tried again until it holds. */
export async function openTrace(trace: Locator): Promise<void> {
  await until(async () => {
    await trace.evaluate((details) => ((details as unknown as { open: boolean }).open = true)).catch(() => {});
    return (await trace.getAttribute("open").catch(() => null)) !== null;
  }, "an opened trace");
}


/**
 * Runs an action on an element the page may redraw under it (the lists are
 * redrawn every interval): tried again, up to five times, when the element
 * was replaced mid-action.
 */
export async function onSteady<T>(action: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= 5 || !/not attached to the DOM|detached/i.test((error as Error).message)) throw error;
    }
  }
}
