import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Contract } from "../index.ts";
import { CliError } from "./errors.ts";

/** One contract to serve with its handlers, as a module exports it. */
export interface ServiceEntry {
  readonly contract: Contract;
  readonly handlers: Record<string, unknown>;
}

/** What `amoeba serve` accepts, for error messages. */
export const EXPECTED_SHAPE =
  "export const services = [{ contract, handlers }, ...] (or `export default` the same array), " +
  "or exactly one exported contract together with `export const handlers = { ... }`";

/**
 * Imports the module at `file` (relative to `cwd`) and returns the services it
 * exports; see {@link findServices} for the shapes accepted. A missing file,
 * a module that fails to load or one that exports nothing servable becomes a
 * CliError that says what was wrong.
 */
export async function loadServices(file: string, cwd: string = process.cwd()): Promise<ServiceEntry[]> {
  const path = resolve(cwd, file);
  if (!existsSync(path)) throw new CliError(`no such file: ${path}`);
  if (!statSync(path).isFile()) throw new CliError(`not a file: ${path}`);
  if (TYPESCRIPT.has(extname(path))) await loadTypeScript(path, file);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`cannot load ${file}: ${(error as Error)?.message ?? String(error)}`);
  }
  return findServices(namespace, file);
}

const TYPESCRIPT = new Set([".ts", ".mts", ".cts", ".tsx"]);

let typescript: Promise<void> | undefined;

/**
 * Makes TypeScript modules importable, once per process, by registering tsx
 * (an optional peer dependency of Amoeba). Nothing to do when Amoeba itself
 * runs from its TypeScript sources: a loader is then in place already.
 */
function loadTypeScript(path: string, file: string): Promise<void> {
  if (import.meta.url.endsWith(".ts")) return Promise.resolve();
  typescript ??= registerTsx(path).catch((error: unknown) => {
    typescript = undefined;
    throw error;
  });
  return typescript.catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") throw error;
    // A Node that strips types by itself (22.18+, 23.6+) may still manage on its own.
    if ((process.features as { typescript?: unknown }).typescript) return;
    throw new CliError(
      `${file} is TypeScript, and serving it needs tsx, which is not installed: run \`npm install --save-dev tsx\` in your project, or serve the compiled .js instead`,
    );
  });
}

async function registerTsx(path: string): Promise<void> {
  const [esm, cjs] = await Promise.all([importFrom("esm/api", path), importFrom("cjs/api", path)]);
  esm();
  // .ts files in a package without "type": "module" load as CommonJS.
  cjs();
}

/**
 * The `register` function of one of tsx's APIs (`esm/api`, `cjs/api`): the
 * copy beside Amoeba, where a peer dependency is installed, else the one the
 * served module's own folder reaches (say, Amoeba installed globally).
 */
async function importFrom(api: "esm/api" | "cjs/api", path: string): Promise<() => unknown> {
  let loaded: { register?: () => unknown };
  try {
    loaded = (await import(`tsx/${api}`)) as typeof loaded;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    // Throws MODULE_NOT_FOUND when there is no tsx here either.
    const manifest = createRequire(path).resolve("tsx/package.json");
    const { exports } = JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import?: { default?: string } }> };
    const file = exports[`./${api}`]?.import?.default;
    if (file === undefined) throw new CliError(`${manifest} names no ESM entry for tsx/${api}: a tsx older than 4?`);
    loaded = (await import(pathToFileURL(resolve(dirname(manifest), file)).href)) as typeof loaded;
  }
  if (typeof loaded.register !== "function") throw new CliError(`tsx/${api} has no register(): a tsx older than 4?`);
  return loaded.register;
}

/**
 * Finds what to serve among a module's exports, in this order:
 *
 * 1. `services`: an array of `{ contract, handlers }` (or one such object);
 * 2. the default export, of the same shape (or an object with a `services`
 *    property, which is how a CommonJS module's exports arrive);
 * 3. exactly one exported contract plus an export named `handlers`.
 *
 * The first form found is used as a whole; forms are never mixed, so what is
 * served never depends on which other helpers a module happens to export.
 */
export function findServices(namespace: Record<string, unknown>, label: string): ServiceEntry[] {
  if (namespace.services !== undefined) return toEntries(namespace.services, `${label}: export "services"`);
  const fallback = namespace.default;
  if (fallback !== undefined && fallback !== null) {
    if (isEntryList(fallback)) return toEntries(fallback, `${label}: the default export`);
    const inner = (fallback as { services?: unknown }).services;
    if (typeof fallback === "object" && inner !== undefined) return toEntries(inner, `${label}: default export's "services"`);
  }
  const contracts = Object.entries(namespace).filter(([name, value]) => name !== "default" && isContract(value));
  const handlers = namespace.handlers;
  if (contracts.length === 1 && isHandlers(handlers)) {
    return [{ contract: contracts[0]![1] as Contract, handlers }];
  }
  const found = describeExports(namespace);
  if (contracts.length > 1 && isHandlers(handlers)) {
    const names = contracts.map(([name]) => name).join(", ");
    throw new CliError(`${label} exports several contracts (${names}) and one "handlers"; it is ambiguous which to serve. Say it: export const services = [{ contract, handlers }, ...].`);
  }
  if (contracts.length > 0) {
    throw new CliError(`${label} exports a contract (${contracts.map(([name]) => name).join(", ")}) but no "handlers" object. Expected: ${EXPECTED_SHAPE}.`);
  }
  throw new CliError(`${label} exports nothing to serve (found: ${found}). Expected: ${EXPECTED_SHAPE}.`);
}

function toEntries(value: unknown, where: string): ServiceEntry[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new CliError(`${where} is an empty list; nothing to serve. Expected: ${EXPECTED_SHAPE}.`);
  return list.map((entry, index) => {
    const at = Array.isArray(value) ? `${where}[${index}]` : where;
    if (typeof entry !== "object" || entry === null) throw new CliError(`${at} is ${kindOf(entry)}, not { contract, handlers }`);
    const { contract, handlers } = entry as { contract?: unknown; handlers?: unknown };
    if (!isContract(contract)) {
      throw new CliError(`${at}.contract is ${kindOf(contract)}, not a contract made with contract(name, version, methods)`);
    }
    if (!isHandlers(handlers)) throw new CliError(`${at}.handlers is ${kindOf(handlers)}, not an object of handler functions`);
    return { contract, handlers };
  });
}

// Structural checks rather than instanceof: the module may have loaded its
// own copy of Amoeba, and a contract is plain frozen data anyway.
function isContract(value: unknown): value is Contract {
  if (typeof value !== "object" || value === null) return false;
  const { name, version, methods } = value as Partial<Contract>;
  return (
    typeof name === "string" &&
    typeof version === "string" &&
    typeof methods === "object" &&
    methods !== null &&
    Object.values(methods).every((def) => typeof (def as { kind?: unknown } | null)?.kind === "string")
  );
}

function isHandlers(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isEntryList(value: unknown): boolean {
  const list = Array.isArray(value) ? value : [value];
  return list.length > 0 && list.every((entry) => typeof entry === "object" && entry !== null && "contract" in entry);
}

function describeExports(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace);
  if (names.length === 0) return "no exports";
  return names.map((name) => `${name} (${kindOf(namespace[name])})`).join(", ");
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (isContract(value)) return `contract ${value.name}@${value.version}`;
  const type = typeof value;
  return type === "object" ? "an object" : type === "undefined" ? "undefined" : `a ${type}`;
}
