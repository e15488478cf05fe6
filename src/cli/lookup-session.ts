import { constants, hostname } from "node:os";
import { startNode, type Logger, type Node, type TlsClientOptions } from "../index.ts";
import type { Instance, Member } from "../lookup/types.ts";
import { satisfies } from "../rpc/version.ts";
import { CliError, EXIT } from "./errors.ts";
import { localSeeds } from "../lookup/rendezvous.ts";
import { describeWhere, type LookupPlan } from "./lookup-args.ts";
import { CLUSTER_KEY_ENV } from "./usage.ts";
import { memberInstances } from "../lookup/catalog.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import { loadEngine } from "./engine.ts";
import { TOOL_LABEL } from "../dashboard/tool-label.ts";
import { tokenOption } from "./token-args.ts";

export { TOOL_LABEL };

/** The view stops changing when nothing changed for this long (ms). */
const QUIET_MS = 300;
const POLL_MS = 50;
/** Seeds that do not answer are not waited for longer than this (ms), whatever --wait says. */
const MAX_JOIN_WAIT_MS = 5_000;

/** A command's short-lived membership in a cluster: what it sees, and how it leaves. */
export interface ToolView {
  readonly node: Node;
  readonly plan: LookupPlan;
  /** TLS towards the nodes it dials over TCP, as joined with: the command's node uses it, and so should the command's own connections. */
  readonly tls: TlsClientOptions | undefined;
  /** The cluster key, as joined with: the command's own connections prove it too. */
  readonly clusterKey: string | undefined;
  /** The other members, in name order; the CLI's own short-lived members only with `all`. */
  members(options?: { all?: boolean }): Member[];
  /** The live instances of every service but Amoeba's own, in service, version and node order. */
  instances(filter?: { service?: string; version?: string }): Instance[];
  /** Leaves the cluster gracefully (others see this member as left, not dead). */
  close(): Promise<void>;
}

/** How long to gather the view, and how to dial. */
export interface JoinOptions {
  /** The longest time to gather the view (ms). */
  readonly wait: number;
  /** Gather for all of `wait`, even once the view stopped changing (to watch a suspect member's fate). */
  readonly fixed?: boolean;
  /** Stop waiting as soon as this holds, e.g. once a matching instance is known. */
  readonly until?: (view: ToolView) => boolean;
  /** TLS towards the nodes it dials over TCP (a registry, the instances it calls); undefined for none. */
  readonly tls?: TlsClientOptions | undefined;
}

/**
 * Joins the cluster as a member that serves nothing, then waits until its
 * view of the cluster stops changing (nothing changed for a moment and no
 * member is suspect; unless `fixed`), until `until` holds, or until `wait`
 * runs out. Fails with exit code 3 when no other member could be reached.
 */
export async function joinAsTool(plan: LookupPlan, command: string, options: JoinOptions): Promise<ToolView> {
  const deadline = Date.now() + options.wait;
  const warnings: unknown[] = [];
  let node: Node;
  try {
    node = await startNode({
      name: `amoeba-${command}-${process.pid}`,
      ...(plan.cluster !== undefined ? { cluster: plan.cluster } : {}),
      labels: { [TOOL_LABEL]: command },
      ...(options.tls !== undefined ? { clientTls: options.tls } : {}),
      ...tokenOption(command),
      ...(plan.engine !== undefined ? { engine: await loadEngine(plan.engine) } : {}),
      logger: quietLogger(warnings),
      // It serves nothing: closing has no calls to wait for.
      drainTimeout: 0,
      lookup: {
        ...(plan.seeds !== undefined ? { seeds: [...plan.seeds] } : {}),
        ...(plan.registry !== undefined ? { registry: plan.registry } : {}),
        ...(plan.clusterKey !== undefined ? { clusterKey: plan.clusterKey } : {}),
        ...(plan.gossip !== undefined ? { gossip: plan.gossip } : {}),
        membership: { joinTimeout: Math.min(Math.max(options.wait, 100), MAX_JOIN_WAIT_MS) },
      },
    });
  } catch (error) {
    throw new CliError(`cannot join ${describeWhere(plan)}: ${(error as Error)?.message ?? String(error)}`, EXIT.unreachable);
  }
  const view = toolView(node, plan, options.tls);
  try {
    const interrupted = await settle(view, deadline, options.fixed === true, options.until);
    if (interrupted !== undefined) throw new CliError(`interrupted by ${interrupted}`, 128 + (constants.signals[interrupted] ?? 0));
    if (view.members({ all: true }).length === 0) throw new CliError(await nobodyMessage(plan, node, warnings), EXIT.unreachable);
  } catch (error) {
    await view.close();
    throw error;
  }
  return view;
}

function toolView(node: Node, plan: LookupPlan, tls: TlsClientOptions | undefined): ToolView {
  const members = ({ all = false } = {}): Member[] =>
    node
      .members()
      .filter((member) => member.record.id !== node.id && (all || member.record.labels[TOOL_LABEL] === undefined))
      .sort((a, b) => a.record.name.localeCompare(b.record.name) || a.record.id.localeCompare(b.record.id));
  return {
    node,
    plan,
    tls,
    clusterKey: plan.clusterKey,
    members,
    instances(filter = {}) {
      const out: Instance[] = [];
      for (const member of members()) {
        for (const instance of memberInstances(member)) {
          if (instance.service.startsWith("amoeba.") || (filter.service !== undefined && instance.service !== filter.service)) continue;
          if (filter.version !== undefined && !satisfies(instance.version, filter.version)) continue;
          out.push(instance);
        }
      }
      return out.sort((a, b) => a.service.localeCompare(b.service) || compareVersionText(b.version, a.version) || a.node.name.localeCompare(b.node.name));
    },
    close: () => node.close({ timeout: 0 }),
  };
}

/** Resolves when the view settled, `until` holds or time ran out; with the signal's name if interrupted. */
function settle(view: ToolView, deadline: number, fixed: boolean, until: JoinOptions["until"]): Promise<NodeJS.Signals | undefined> {
  return new Promise((resolve) => {
    let last = "";
    let changed = Date.now();
    const finish = (signal?: NodeJS.Signals): void => {
      clearInterval(timer);
      process.off("SIGINT", finish);
      process.off("SIGTERM", finish);
      resolve(signal);
    };
    const check = (): void => {
      const now = Date.now();
      const members = view.members({ all: true });
      const signature = members.map((m) => `${m.record.id}:${m.state}:${m.incarnation}`).join(",");
      if (signature !== last) {
        last = signature;
        changed = now;
      }
      const quiet = !fixed && now - changed >= QUIET_MS && members.length > 0 && !members.some((m) => m.state === "suspect");
      if (now >= deadline || quiet || until?.(view)) finish();
    };
    const timer = setInterval(check, POLL_MS);
    process.once("SIGINT", finish);
    process.once("SIGTERM", finish);
    check();
  });
}

async function nobodyMessage(plan: LookupPlan, node: Node, warnings: unknown[]): Promise<string> {
  if (plan.engine !== undefined) return `no node of cluster "${plan.cluster ?? "default"}" answered on NATS at ${plan.engine}; is it served with --engine ${plan.engine} and the same --cluster?`;
  if (plan.registry !== undefined) {
    const failure = warnings.map((w) => (w as { err?: { message?: string } })?.err?.message).find((m) => m !== undefined);
    return failure !== undefined
      ? `cannot reach the registry at ${plan.registry}: ${failure}`
      : `the registry at ${plan.registry} knows no node yet`;
  }
  const cluster = plan.cluster ?? "default";
  if (plan.seeds !== undefined) {
    return (
      `no node of cluster "${cluster}" answered at ${plan.seeds.join(", ")}` +
      (plan.cluster === undefined ? "; if the seeds belong to a named cluster, add --cluster <name>" : "; are the seeds in this cluster") +
      (plan.clusterKey === undefined ? `, and does it need a key (--cluster-key or $${CLUSTER_KEY_ENV})?` : ", with this key?")
    );
  }
  const local = await localSeeds(cluster, node.id).catch(() => []);
  if (local.length > 0) {
    return (
      `${local.length === 1 ? "a node" : `${local.length} nodes`} of cluster "${cluster}" on this machine did not answer` +
      (plan.clusterKey === undefined ? `; does the cluster need a key (--cluster-key or $${CLUSTER_KEY_ENV})?` : "; is it the cluster's key?")
    );
  }
  return `no node of cluster "${cluster}" runs on this machine; give --seeds to reach nodes elsewhere, or --registry`;
}

/** Warnings are kept for the error message; nothing is printed over the command's own output. */
function quietLogger(warnings: unknown[]): Logger {
  const drop = (): void => {};
  return {
    debug: drop,
    info: drop,
    warn: (obj) => void (warnings.length < 20 && warnings.push(obj)),
    error: (obj) => void (warnings.length < 20 && warnings.push(obj)),
  };
}

/** Orders version texts `1.10.0` after `1.9.0`; a text that is no version sorts as 0.0.0. */
export function compareVersionText(a: string, b: string): number {
  const left = a.split(/[.+-]/, 3).map(Number);
  const right = b.split(/[.+-]/, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    const difference = (left[i] || 0) - (right[i] || 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * The addresses to call, one per instance: alive before suspect, least
 * loaded first, ties in random order so that calls spread.
 */
export function pickAddresses(instances: readonly Instance[], host: string | undefined = hostname()): string[] {
  return instances
    .map((instance) => ({ instance, address: reachableAddress(instance, host), tie: Math.random() }))
    .filter((entry): entry is { instance: Instance; address: string; tie: number } => entry.address !== undefined)
    .sort(
      (a, b) =>
        (a.instance.state === "alive" ? 0 : 1) - (b.instance.state === "alive" ? 0 : 1) || a.instance.load - b.instance.load || a.tie - b.tie,
    )
    .map((entry) => entry.address);
}

/** `calculator@1.2.0 on nodes calc-a, calc-b; calculator@2.0.0 on node calc-c`, for messages. */
export function describeVersions(instances: readonly Instance[]): string {
  const byVersion = new Map<string, string[]>();
  for (const instance of instances) {
    const key = `${instance.service}@${instance.version}`;
    byVersion.set(key, [...(byVersion.get(key) ?? []), instance.node.name]);
  }
  return [...byVersion]
    .map(([key, nodes]) => `${key} on ${nodes.length === 1 ? "node" : "nodes"} ${nodes.join(", ")}`)
    .join("; ");
}
