import { hostname } from "node:os";
import { ReflectionContract, type MethodKind, type TlsClientOptions } from "../index.ts";
import type { NodeStats } from "../balance/stats-contract.ts";
import { askNode, ASK_TIMEOUT_MS, type AskRoute } from "./ask-node.ts";
import { FIGURE_HEADERS, figureCells, figuresOf, gatherStats } from "./ls-stats.ts";
import type { Instance } from "../lookup/types.ts";
import { isVersionRange } from "../rpc/version.ts";
import { flagOption, parseOrHelp, stringOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { describeWhere, planLookup, planWait, type LookupPlan, type WaitPlan } from "./lookup-args.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import { joinAsTool, type ToolView } from "./lookup-session.ts";
import { toJson } from "./output.ts";
import { formatTable, plural } from "./table.ts";
import { LS } from "./usage.ts";
import { planClientTls } from "./tls-args.ts";

/** What `amoeba ls` was asked to do. */
export interface LsPlan {
  readonly lookup: LookupPlan;
  readonly service: string | undefined;
  readonly version: string | undefined;
  readonly wait: WaitPlan;
  readonly json: boolean;
  /** Ask every node for its balancing and serving figures (`--stats`). */
  readonly stats: boolean;
  /** TLS towards the nodes it dials over TCP; undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

/** One version of a service and where it runs, as `ls` shows it. */
interface ServiceVersion {
  readonly name: string;
  readonly version: string;
  readonly instances: Instance[];
  /** With a service named: its methods, from reflection. */
  methods?: Array<{ name: string; kind: MethodKind }>;
  /** Why the methods are unknown, when reflection failed. */
  methodsError?: string;
}

/** `amoeba ls`: returns the exit code. */
export async function runLs(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(LS, argv, io);
  if (!args) return EXIT.ok;
  const plan = planLs(args);
  const view = await joinAsTool(plan.lookup, "ls", { wait: plan.wait.ms, fixed: plan.wait.fixed, tls: plan.tls });
  try {
    const groups = groupByVersion(view.instances({ service: plan.service, version: plan.version }));
    if (plan.service !== undefined) {
      if (groups.length === 0) throw new CliError(notFound(view, plan.service, plan.version));
      await Promise.all(groups.map((group) => reflect(group, plan.service!, view)));
    }
    const stats = plan.stats ? await gatherStats(view.members(), view) : null;
    print(io, plan, view, groups, stats);
    return EXIT.ok;
  } finally {
    await view.close();
  }
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planLs(args: ParsedArgs): LsPlan {
  const [service, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`expects at most one service name, got ${args.positionals.join(" ")}`, "ls");
  const lookup = planLookup(args, "ls");
  if (lookup === undefined) {
    throw new UsageError("needs a cluster to look in: --cluster <name>, --seeds <udp://host:port> or --registry <address>", "ls");
  }
  const version = stringOption(args, "version");
  if (version !== undefined && !isVersionRange(version)) throw new UsageError(`--version takes a range such as ^1.2 or 2.x, not "${version}"`, "ls");
  return { lookup, service, version, wait: planWait(args, "ls"), json: flagOption(args, "json"), stats: flagOption(args, "stats"), tls: planClientTls(args, "ls") };
}

function groupByVersion(instances: Instance[]): ServiceVersion[] {
  const groups = new Map<string, ServiceVersion>();
  for (const instance of instances) {
    const key = `${instance.service}@${instance.version}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { name: instance.service, version: instance.version, instances: [] }));
    group.instances.push(instance);
  }
  return [...groups.values()];
}

/** Asks one instance of the group (the least loaded that answers) for the service's methods. */
async function reflect(group: ServiceVersion, service: string, route: AskRoute): Promise<void> {
  const host = hostname();
  const candidates = [...group.instances].sort((a, b) => (a.state === b.state ? a.load - b.load : a.state === "alive" ? -1 : 1));
  let failure = "no instance has an address to ask";
  for (const instance of candidates) {
    const address = reachableAddress(instance, host);
    if (address === undefined) continue;
    try {
      const described = await askNode(address, "ls", (peer) => peer.client(ReflectionContract).describe({ service }, { timeout: ASK_TIMEOUT_MS }), route);
      const served = described.find((entry) => entry.name === service && entry.version === group.version);
      if (served) {
        group.methods = served.methods.map(({ name, kind }) => ({ name, kind }));
        return;
      }
      failure = `node ${instance.node.name} no longer serves ${service}@${group.version}`;
    } catch (error) {
      failure = `node ${instance.node.name} at ${address}: ${(error as Error)?.message ?? String(error)}`;
    }
  }
  group.methodsError = failure;
}

function notFound(view: ToolView, service: string, version: string | undefined): string {
  const where = describeWhere(view.plan);
  const wanted = version === undefined ? service : `${service}@${version}`;
  const other = version === undefined ? [] : groupByVersion(view.instances({ service }));
  if (other.length > 0) {
    return `no instance of ${wanted} in ${where}; it runs as ${other.map((g) => `${g.name}@${g.version} (${plural(g.instances.length, "instance")})`).join(", ")}`;
  }
  const names = [...new Set(view.instances().map((instance) => `${instance.service}@${instance.version}`))];
  return `no instance of ${wanted} in ${where}; ${names.length > 0 ? `the services there: ${names.join(", ")}` : "no service runs there"}`;
}

function print(io: Io, plan: LsPlan, view: ToolView, groups: ServiceVersion[], stats: Map<string, NodeStats> | null): void {
  const figures = (instance: Instance): string[] => (stats ? figureCells(figuresOf(instance, stats)) : []);
  const headers = stats ? FIGURE_HEADERS : [];
  if (plan.json) {
    io.out(
      toJson(
        {
          cluster: plan.lookup.cluster ?? "default",
          ...(plan.lookup.registry !== undefined ? { registry: plan.lookup.registry } : {}),
          services: groups.map((group) => ({
            name: group.name,
            version: group.version,
            ...(group.methods !== undefined ? { methods: group.methods } : {}),
            ...(group.methodsError !== undefined ? { methodsError: group.methodsError } : {}),
            instances: group.instances.map((instance) => ({ ...instanceJson(instance), ...(stats ? { stats: figuresOf(instance, stats) } : {}) })),
          })),
        },
        false,
      ),
    );
    return;
  }
  const where = describeWhere(plan.lookup);
  if (plan.service === undefined) {
    if (groups.length === 0) {
      io.out(`No services in ${where} (${plural(view.members().length, "node")}).`);
      return;
    }
    const rows = groups.flatMap((group) => group.instances.map((i) => [group.name, group.version, i.node.name, i.state, String(i.load), ...figures(i), addressesText(i)]));
    for (const line of formatTable(["SERVICE", "VERSION", "NODE", "STATE", "LOAD", ...headers, "ADDRESSES"], rows)) io.out(line);
    const services = new Set(groups.map((group) => group.name)).size;
    const nodes = new Set(groups.flatMap((group) => group.instances.map((i) => i.node.id))).size;
    io.out("");
    io.out(`${plural(services, "service")}, ${plural(rows.length, "instance")} on ${plural(nodes, "node")} in ${where}.`);
    return;
  }
  groups.forEach((group, index) => {
    if (index > 0) io.out("");
    io.out(`${group.name}@${group.version}: ${plural(group.instances.length, "instance")}`);
    io.out("");
    if (group.methods !== undefined) {
      for (const line of formatTable(["METHOD", "KIND"], group.methods.map((m) => [m.name, m.kind]), "  ")) io.out(line);
    } else {
      io.out(`  methods unknown: ${group.methodsError ?? "reflection failed"}`);
    }
    io.out("");
    const rows = group.instances.map((i) => [i.node.name, i.state, String(i.load), ...figures(i), addressesText(i)]);
    for (const line of formatTable(["NODE", "STATE", "LOAD", ...headers, "ADDRESSES"], rows, "  ")) io.out(line);
  });
}

function instanceJson(instance: Instance): object {
  return {
    node: instance.node.name,
    id: instance.node.id,
    cluster: instance.node.cluster,
    state: instance.state,
    load: instance.load,
    addresses: instance.addresses,
    labels: instance.labels,
  };
}

function addressesText(instance: Instance): string {
  return instance.addresses.length > 0 ? instance.addresses.join(" ") : "-";
}
