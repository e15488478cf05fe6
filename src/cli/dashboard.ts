import { DEFAULT_DASHBOARD_PORT, startDashboard, type Dashboard } from "../dashboard/index.ts";
import type { Node } from "../node/index.ts";
import type { TlsClientOptions } from "../index.ts";
import { parseMs, parseOrHelp, parsePort, stringOption, listOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { describeWhere, planLookup, type LookupPlan } from "./lookup-args.ts";
import { joinAsTool, type ToolView } from "./lookup-session.ts";
import { DASHBOARD } from "./usage.ts";
import { planClientTls } from "./tls-args.ts";

/** What `amoeba dashboard` was asked to do. */
export interface DashboardPlan {
  /** One look-up per cluster shown. */
  readonly clusters: readonly LookupPlan[];
  readonly port: number;
  readonly host: string;
  readonly interval: number | undefined;
  /** TLS towards the nodes of every cluster shown; undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

/** How long joining each cluster may take before the page is served (ms). */
const JOIN_WAIT_MS = 1_500;

/** `amoeba dashboard`: serves the live page until SIGINT or SIGTERM. Returns the exit code. */
export async function runDashboard(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(DASHBOARD, argv, io);
  if (!args) return EXIT.ok;
  const plan = planDashboard(args);
  const views: ToolView[] = [];
  const leave = (): Promise<unknown> => Promise.all(views.map((view) => view.close().catch(() => {})));
  let dashboard: Dashboard;
  try {
    for (const cluster of plan.clusters) views.push(await joinAsTool(cluster, "dashboard", { wait: JOIN_WAIT_MS, tls: plan.tls }));
    dashboard = await startDashboard({
      nodes: views.map((view) => view.node),
      port: plan.port,
      host: plan.host,
      ...(plan.interval !== undefined ? { interval: plan.interval } : {}),
    });
  } catch (error) {
    await leave();
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") throw new CliError(`cannot listen on ${plan.host}:${plan.port}: ${(error as Error).message}`);
    throw error;
  }
  io.out(`amoeba: dashboard on ${dashboard.url} for ${plan.clusters.map(describeWhere).join("; ")}`);
  await onSignal();
  io.out("amoeba: dashboard stopping");
  await dashboard.close();
  await leave();
  return EXIT.ok;
}

/**
 * Checks the command line; every mistake is a UsageError (exit 2). Seeds
 * written `name=udp://host:port` belong to the cluster `name` (the seeds after
 * it in the same value too); each cluster is shown as its own group.
 */
export function planDashboard(args: ParsedArgs): DashboardPlan {
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "dashboard");
  const port = stringOption(args, "port");
  const interval = stringOption(args, "interval");
  const intervalMs = interval === undefined ? undefined : parseMs(interval, "interval", "dashboard");
  if (intervalMs !== undefined && intervalMs < 100) throw new UsageError("--interval takes at least 100 ms", "dashboard");
  return {
    clusters: planClusters(args),
    port: port === undefined ? DEFAULT_DASHBOARD_PORT : parsePort(port, "port", "dashboard"),
    host: stringOption(args, "host") ?? "127.0.0.1",
    interval: intervalMs,
    tls: planClientTls(args, "dashboard"),
  };
}

function planClusters(args: ParsedArgs): LookupPlan[] {
  const seeds = listOption(args, "seeds");
  const named = seeds.some((text) => text.split(",").some((item) => clusterPrefix(item.trim()) !== undefined));
  if (!named) {
    const lookup = planLookup(args, "dashboard");
    if (lookup === undefined) throw new UsageError("needs a cluster to show: --seeds <udp://host:port>, --cluster <name>, --registry <address> or --engine <nats://host:port>", "dashboard");
    return [lookup];
  }
  for (const option of ["registry", "engine", "gossip"]) {
    if (stringOption(args, option) !== undefined) throw new UsageError(`--${option} does not go with seeds named by cluster (name=udp://…)`, "dashboard");
  }
  const groups = new Map<string | undefined, string[]>();
  for (const text of seeds) {
    let cluster = stringOption(args, "cluster");
    for (const item of text.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
      const prefix = clusterPrefix(item);
      if (prefix !== undefined) cluster = prefix;
      groups.set(cluster, [...(groups.get(cluster) ?? []), prefix === undefined ? item : item.slice(prefix.length + 1)]);
    }
  }
  const key = stringOption(args, "cluster-key");
  return [...groups].map(([cluster, addresses]) =>
    planLookup({ values: { seeds: addresses, ...(cluster !== undefined ? { cluster } : {}), ...(key !== undefined ? { "cluster-key": key } : {}) }, positionals: [] }, "dashboard")!,
  );
}

/** `core` of `core=udp://…`; undefined for a plain address. */
function clusterPrefix(item: string): string | undefined {
  const match = /^([^=/:]+)=/.exec(item);
  return match?.[1];
}

function onSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}


/**
 * `amoeba edge --dashboard <port>`: serves the dashboard beside the edge,
 * watching the edge's cluster through the edge's own node (drawn as the edge,
 * with end users in front of it). Always on 127.0.0.1, even when the edge
 * faces the network: the page calls any method. Undefined without the option.
 */
export async function startEdgeDashboard(args: ParsedArgs, node: Node, io: Io): Promise<Dashboard | undefined> {
  const port = stringOption(args, "dashboard");
  if (port === undefined) return undefined;
  const dashboard = await startDashboard({ nodes: [{ node, edge: true }], port: parsePort(port, "dashboard", "edge") }).catch((error: unknown) => {
    throw new CliError(`cannot serve the dashboard on 127.0.0.1:${port}: ${(error as Error)?.message ?? String(error)}`);
  });
  io.out(`amoeba: dashboard on ${dashboard.url}`);
  return dashboard;
}
