import type { TestContext } from "node:test";

/**
 * Skips the test with `reason` when `available` is false — unless
 * AMOEBA_REQUIRE_ALL=1 (as in CI), where a missing prerequisite is a failure.
 * Returns whether the test should go on.
 */
export function requireOrSkip(t: TestContext, available: boolean, reason: string): boolean {
  if (available) return true;
  if (process.env.AMOEBA_REQUIRE_ALL === "1") {
    throw new Error(`prerequisite missing and AMOEBA_REQUIRE_ALL=1: ${reason}`);
  }
  t.skip(reason);
  return false;
}
