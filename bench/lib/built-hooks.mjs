// Module hooks for the bench's processes: a module of Amoeba's own sources
// (src/**/*.ts) loads as its build in dist/ (dist/**/*.js), so the bench
// measures what an installed package runs, while its harness, the peers and
// the examples stay TypeScript under tsx.
import { existsSync } from "node:fs";

const SOURCES = new URL("../../src/", import.meta.url).href;
const BUILT = new URL("../../dist/", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(SOURCES) || !resolved.url.endsWith(".ts")) return resolved;
  const built = BUILT + resolved.url.slice(SOURCES.length, -".ts".length) + ".js";
  if (!existsSync(new URL(built))) throw new Error(`bench: ${built} is missing: the bench builds dist/ when it starts (npm run build)`);
  return { ...resolved, url: built, format: "module" };
}
