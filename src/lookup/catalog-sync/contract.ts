import { contract, stream } from "../../rpc/contract.ts";
import { plainSchema } from "../../rpc/plain-schema.ts";
import { CATALOG_LIMITS, entryProblem } from "./entries.ts";
import type { CatalogPage } from "./own-catalog.ts";

/** What a member asks for: the changes since the version it holds, or (none held) the whole catalog. */
export interface CatalogRequest {
  since?: number;
}

/**
 * The built-in service through which members fetch each other's catalogs over
 * the RPC connection (a stream: no size limit but the pages'), when a member's
 * gossiped digest differs from the copy held.
 */
export const CatalogContract = contract("amoeba.catalog", "1.0.0", {
  fetch: stream({
    input: plainSchema<CatalogRequest>((v) => {
      if (typeof v !== "object" || v === null) return "expected { since?: number }";
      const since = (v as { since?: unknown }).since;
      return since === undefined || (Number.isSafeInteger(since) && (since as number) >= 0) ? null : "since must be a version (a whole number ≥ 0)";
    }),
    output: plainSchema<CatalogPage>(pageProblem),
    idempotent: true,
    description: "This node's catalog (services, methods, routes) in pages: the changes since `since`, or all of it.",
  }),
});

/** What is wrong with a page received from the network, or null when it is acceptable. */
export function pageProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null) return "a catalog page must be an object";
  const page = v as Partial<CatalogPage>;
  if (!Number.isSafeInteger(page.version) || page.version! < 0) return "a catalog page needs its version";
  if (!Number.isInteger(page.hash) || page.hash! < 0 || page.hash! > 0xffffffff) return "a catalog page needs its hash";
  if (typeof page.full !== "boolean" || typeof page.last !== "boolean") return "a catalog page says whether it is full and last";
  if (!Array.isArray(page.entries) || page.entries.length > CATALOG_LIMITS.pageEntries) return `a catalog page holds at most ${CATALOG_LIMITS.pageEntries} entries`;
  for (const entry of page.entries) {
    const problem = entryProblem(entry);
    if (problem !== null) return problem;
  }
  return null;
}
