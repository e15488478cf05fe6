/** The services of the many-clusters routing test: each site serves `<site>.svc-<i>`, whose `where` says who answered and which way the call came. */
import { contract, unary, type Contract } from "../../src/index.ts";
import { plainSchema } from "../../src/rpc/plain-schema.ts";

const anything = plainSchema<unknown>(() => null);

/** What a site's service answers: who served it, and the gateways the call crossed. */
export interface SiteAnswer {
  service: string;
  node: string;
  hops: number;
  via: string;
}

/** One service of a site: `where` (idempotent) tells who answered and which way the call came. */
export function siteContract(name: string): Contract {
  return contract(name, "1.0.0", { where: unary({ input: anything, output: anything, idempotent: true }) });
}

/** The names of the `count` services of `site`: `<site>.svc-0` … */
export function siteServices(site: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${site}.svc-${i}`);
}
