import { AddressError, isRpcError, ReflectionContract, startNode, type Node, type Peer } from "../index.ts";
import { ASK_TIMEOUT_MS } from "./ask-node.ts";
import type { CallPlan } from "./call.ts";
import { newestVersion } from "../dashboard/dynamic-contract.ts";
import { loadEngine } from "./engine.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { describeWhere } from "./lookup-args.ts";
import { describeVersions, joinAsTool, pickAddresses } from "./lookup-session.ts";
import { tokenOption } from "./token-args.ts";

/** The node `amoeba bench` calls from, and the version of the service it calls. */
export interface BenchTarget {
  /** The command's own node: its balancer places the calls and counts them per instance. */
  readonly node: Node;
  /** The version of the service the node that was asked serves (its newest within --version). */
  readonly version: string;
  /** Leaves the cluster (or drops the connection) at once. */
  close(): Promise<void>;
}

/**
 * Gets ready to call `plan.service.method`: joins the cluster as a tool member
 * (or, for an address, starts a node that joins nothing and connects to it),
 * then asks one node that serves the service what version it serves and
 * whether the method exists and is unary. Failures: exit 3 when no node can
 * be reached, 1 when none serves the service, 2 when the method is unknown or
 * not unary (a command-line mistake).
 */
export async function openTarget(plan: CallPlan): Promise<BenchTarget> {
  let node: Node;
  let address: string;
  let close: () => Promise<void>;
  if (plan.lookup !== undefined) {
    const wanted = { service: plan.service, ...(plan.version !== undefined ? { version: plan.version } : {}) };
    const view = await joinAsTool(plan.lookup, "bench", { wait: plan.wait, tls: plan.tls, until: (current) => pickAddresses(current.instances(wanted)).length > 0 });
    const first = pickAddresses(view.instances(wanted))[0];
    if (first === undefined) {
      const found = describeVersions(view.instances({ service: plan.service }));
      await view.close();
      const where = describeWhere(plan.lookup);
      throw new CliError(`no instance of ${plan.service}@${plan.version ?? "*"} in ${where}${found === "" ? "" : `; it runs as ${found}`}`);
    }
    node = view.node;
    close = () => view.close();
    address = first;
  } else {
    node = await startNode({
      name: `amoeba-bench-${process.pid}`,
      ...(plan.engine !== undefined && plan.address.startsWith("nats://") ? { engine: await loadEngine(plan.engine) } : {}),
      lookup: false,
      ...(plan.tls !== undefined ? { clientTls: plan.tls } : {}),
      ...tokenOption("bench"),
      drainTimeout: 0,
      logger: SILENT,
    });
    close = () => node.close({ timeout: 0 });
    address = plan.address;
  }
  try {
    const peer = await reach(node, address, plan.timeout);
    return { node, version: await checkMethod(peer, plan, address), close };
  } catch (error) {
    await close();
    throw error;
  }
}

const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

async function reach(node: Node, address: string, timeout: number): Promise<Peer> {
  try {
    return await node.connect(address, { connectTimeout: Math.min(timeout, ASK_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as Error)?.cause;
    if (error instanceof AddressError || cause instanceof AddressError) throw new UsageError(((cause ?? error) as Error).message, "bench");
    throw new CliError(`cannot reach ${address}: ${(error as Error)?.message ?? String(error)}`, EXIT.unreachable);
  }
}

/** The version to call; fails unless the node serves the service with the method as a unary one. */
async function checkMethod(peer: Peer, plan: CallPlan, address: string): Promise<string> {
  let described;
  try {
    described = await peer.client(ReflectionContract).describe({ service: plan.service }, { timeout: ASK_TIMEOUT_MS });
  } catch (error) {
    // A node without reflection: call the newest version it serves, as a unary method.
    const version = newestVersion(peer.services, plan.service, plan.version);
    if (isRpcError(error) && (error.code === "NOT_FOUND" || error.code === "UNIMPLEMENTED") && version !== undefined) return version;
    throw new CliError(`cannot ask ${address} about ${plan.service}: ${(error as Error)?.message ?? String(error)}`, EXIT.unreachable);
  }
  const version = newestVersion(
    described.map((entry) => [entry.name, entry.version] as const),
    plan.service,
    plan.version,
  );
  const served = described.find((entry) => entry.name === plan.service && entry.version === version);
  if (served === undefined) {
    const versions = described.filter((entry) => entry.name === plan.service).map((entry) => entry.version);
    throw new CliError(
      `${address} does not serve ${plan.service}${plan.version === undefined ? "" : `@${plan.version}`}` +
        (versions.length > 0 ? `; it serves versions ${versions.join(", ")}` : ""),
    );
  }
  const method = served.methods.find((entry) => entry.name === plan.method);
  if (method === undefined) {
    throw new UsageError(`${plan.service}@${served.version} has no method "${plan.method}"; its methods: ${served.methods.map((m) => m.name).join(", ")}`, "bench");
  }
  if (method.kind !== "unary") {
    throw new UsageError(`${plan.service}.${plan.method} is a ${method.kind} method; bench runs unary methods`, "bench");
  }
  return served.version;
}
