/**
 * `amoeba describe <service>[.method]`: a service's methods with their
 * kinds and their input and output types, as `grpcurl describe` shows a
 * gRPC service — the types written the way a TypeScript user reads them.
 */
import { ReflectionContract, type MethodDescription, type ServiceDescription, type TlsClientOptions } from "../index.ts";
import { newestVersion } from "../dashboard/dynamic-contract.ts";
import { exampleOf, typeText } from "../dashboard/schema-text.ts";
import { isVersionRange } from "../rpc/version.ts";
import { checkSocketAddress, flagOption, parseOrHelp, stringOption, type ParsedArgs } from "./args.ts";
import { askNode, ASK_TIMEOUT_MS, type AskRoute } from "./ask-node.ts";
import { paletteFor, type Palette } from "./color.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { describeWhere, planLookup, planWait, type LookupPlan, type WaitPlan } from "./lookup-args.ts";
import { joinAsTool, pickAddresses } from "./lookup-session.ts";
import { didYouMean } from "./suggest.ts";
import { plural } from "./table.ts";
import { DESCRIBE } from "./usage-tools.ts";
import { planClientTls } from "./tls-args.ts";

/** What `amoeba describe` was asked to do. */
export interface DescribePlan {
  /** The node to ask, when given by address. */
  readonly address: string | undefined;
  readonly lookup: LookupPlan | undefined;
  readonly service: string;
  /** Only this method, when given. */
  readonly method: string | undefined;
  readonly version: string | undefined;
  readonly wait: WaitPlan;
  readonly json: boolean;
  /** TLS towards the nodes it dials over TCP; undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

/** `amoeba describe`: returns the exit code. */
export async function runDescribe(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(DESCRIBE, argv, io);
  if (!args) return EXIT.ok;
  const plan = planDescribe(args);
  const described = await ask(plan);
  io.out(plan.json ? JSON.stringify(described) : formatDescription(described, plan.method, paletteFor()).join("\n"));
  return EXIT.ok;
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planDescribe(args: ParsedArgs): DescribePlan {
  const lookup = planLookup(args, "describe");
  const positionals = [...args.positionals];
  const address = lookup === undefined ? positionals.shift() : undefined;
  const [target, ...extra] = positionals;
  if (target === undefined || extra.length > 0 || (lookup === undefined && address === undefined)) {
    throw new UsageError(lookup === undefined ? "expects <address> <service>[.<method>], or --cluster/--seeds/--registry and <service>[.<method>]" : "expects one <service>[.<method>]", "describe");
  }
  const version = stringOption(args, "version");
  if (version !== undefined && !isVersionRange(version)) throw new UsageError(`--version takes a range such as ^1.2 or 2.x, not "${version}"`, "describe");
  return {
    address: address === undefined ? undefined : checkSocketAddress(address, "describe"),
    lookup,
    // `calculator` or `calculator.add`: service names may hold dots (`billing.invoices`), so which it is shows once a node says what it serves.
    service: target,
    method: undefined,
    version,
    wait: planWait(args, "describe"),
    json: flagOption(args, "json"),
    tls: planClientTls(args, "describe"),
  };
}

/** The service as a node that serves it describes it, its newest version within --version. */
async function ask(plan: DescribePlan): Promise<ServiceDescription & { where: string }> {
  if (plan.lookup === undefined) return describeAt(plan.address!, plan, plan.address!, { tls: plan.tls });
  const lookup = plan.lookup;
  const candidates = (target: string): string[] => {
    const dot = target.lastIndexOf(".");
    return dot > 0 ? [target, target.slice(0, dot)] : [target];
  };
  const view = await joinAsTool(lookup, "describe", {
    wait: plan.wait.ms,
    tls: plan.tls,
    fixed: plan.wait.fixed,
    until: (current) => candidates(plan.service).some((service) => current.instances({ service }).length > 0),
  });
  try {
    for (const service of candidates(plan.service)) {
      const addresses = pickAddresses(view.instances({ service, ...(plan.version !== undefined ? { version: plan.version } : {}) }));
      if (addresses.length === 0) continue;
      const method = service === plan.service ? plan.method : plan.service.slice(service.length + 1);
      return await describeAt(addresses[0]!, { ...plan, service, method }, describeWhere(lookup), view);
    }
    const names = [...new Set(view.instances().map((instance) => instance.service))];
    const asked = plan.service.includes(".") ? plan.service.slice(0, plan.service.lastIndexOf(".")) : plan.service;
    throw new CliError(
      `no node in ${describeWhere(lookup)} serves ${plan.service}${didYouMean(asked, names) || didYouMean(plan.service, names)}${names.length > 0 ? ` (the services there: ${names.sort().join(", ")})` : ""}`,
    );
  } finally {
    await view.close();
  }
}

async function describeAt(address: string, plan: DescribePlan, where: string, route: AskRoute): Promise<ServiceDescription & { where: string }> {
  let served: ServiceDescription[];
  let service = plan.service;
  let method = plan.method;
  try {
    served = await askNode(address, "describe", (peer) => peer.client(ReflectionContract).describe({}, { timeout: ASK_TIMEOUT_MS }), route);
  } catch (error) {
    throw new CliError(`could not ask the node at ${address}: ${(error as Error)?.message ?? String(error)}`, EXIT.unreachable);
  }
  const names = served.map((entry) => entry.name).filter((name) => !name.startsWith("amoeba."));
  if (!served.some((entry) => entry.name === service)) {
    // `calculator.add` given to a node: the method is what follows the service it serves.
    const dot = service.lastIndexOf(".");
    if (method === undefined && dot > 0 && served.some((entry) => entry.name === service.slice(0, dot))) {
      method = service.slice(dot + 1);
      service = service.slice(0, dot);
    } else {
      const asked = method === undefined && dot > 0 ? service.slice(0, dot) : service;
      throw new CliError(`the node at ${address} does not serve ${asked}${didYouMean(asked, names)}${names.length > 0 ? `; it serves ${names.join(", ")}` : ""}`);
    }
  }
  const version = newestVersion(served.map((entry) => [entry.name, entry.version] as const), service, plan.version);
  const found = served.find((entry) => entry.name === service && entry.version === version);
  if (found === undefined) {
    const versions = served.filter((entry) => entry.name === service).map((entry) => entry.version);
    throw new CliError(`the node at ${address} serves ${service} as ${versions.join(", ")}, none within ${plan.version}`);
  }
  if (method !== undefined && !found.methods.some((entry) => entry.name === method)) {
    const methods = found.methods.map((entry) => entry.name);
    throw new CliError(`${service}@${found.version} has no method ${method}${didYouMean(method, methods)}; its methods: ${methods.join(", ")}`);
  }
  return { ...found, methods: method === undefined ? found.methods : found.methods.filter((entry) => entry.name === method), where };
}

/** The description for people: the service, then each method with its kind, types and an example input. */
export function formatDescription(described: ServiceDescription & { where?: string }, method: string | undefined, paint: Palette): string[] {
  const lines = [`${paint.bold(`${described.name}@${described.version}`)}${method === undefined ? ` — ${plural(described.methods.length, "method")}` : ""}${described.where ? paint.dim(`  (from ${described.where})`) : ""}`];
  for (const entry of described.methods) lines.push("", ...formatMethod(described.name, entry, paint));
  return lines;
}

function formatMethod(service: string, method: MethodDescription, paint: Palette): string[] {
  const flags = [method.kind, ...(method.idempotent ? ["idempotent"] : []), ...(method.public ? ["public"] : [])];
  const item = (side: "input" | "output"): string =>
    method.kind === "bidi-stream" || (side === "input" && method.kind === "client-stream") || (side === "output" && method.kind === "server-stream") ? " (each item)" : "";
  const indent = (text: string): string => text.replace(/\n/g, "\n    ");
  return [
    `${paint.bold(`${service}.${method.name}`)}  ${paint.dim(flags.join(", "))}`,
    ...(method.description ? [`  ${method.description}`] : []),
    `  input${item("input")}:`,
    `    ${paint.cyan(indent(typeText(method.input ?? {})))}`,
    `  output${item("output")}:`,
    `    ${paint.cyan(indent(typeText(method.output ?? {})))}`,
    `  example input: ${JSON.stringify(exampleOf(method.input ?? {}))}`,
  ];
}
