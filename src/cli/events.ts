/**
 * `amoeba publish <topic> '<json>'` and `amoeba subscribe <topic>`: events
 * from the command line, as `nats pub` and `nats sub` do for subjects. An
 * Amoeba event goes from a node to the nodes connected to it that
 * subscribed, so both commands connect to every live node of the cluster
 * (or to the one at an address) and stay only as long as they must.
 */
import { hostname } from "node:os";
import { Node, ReflectionContract, type Peer, type TlsClientOptions } from "../index.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import { checkSocketAddress, flagOption, parseCount, parseOrHelp, stringOption, type ParsedArgs } from "./args.ts";
import { paletteFor } from "./color.ts";
import { parseDuration } from "./duration.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { describeWhere, planLookup, planWait, type LookupPlan, type WaitPlan } from "./lookup-args.ts";
import { joinAsTool, type ToolView } from "./lookup-session.ts";
import { toJson } from "./output.ts";
import { plural } from "./table.ts";
import { PUBLISH, SUBSCRIBE } from "./usage-tools.ts";
import { planClientTls } from "./tls-args.ts";
import { tokenOption } from "./token-args.ts";

/** What publish or subscribe was asked to do. */
export interface EventPlan {
  readonly address: string | undefined;
  readonly lookup: LookupPlan | undefined;
  readonly topic: string;
  /** publish: the payload. */
  readonly payload: unknown;
  readonly wait: WaitPlan;
  readonly json: boolean;
  /** subscribe: stop after this many events, or after this long (ms). */
  readonly count: number | undefined;
  readonly forMs: number | undefined;
  /** TLS towards the nodes it connects to over TCP; undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

const TOPIC = /^[\w.:*>-]{1,256}$/;
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };
/** How often subscribe looks for nodes that joined (ms). */
const RESCAN_MS = 1_000;
const MAX_FOR_MS = 7 * 24 * 3_600_000;

/** Checks the command line of publish (`payload` true) or subscribe; every mistake is a UsageError. */
export function planEvents(args: ParsedArgs, command: "publish" | "subscribe"): EventPlan {
  const lookup = planLookup(args, command);
  const positionals = [...args.positionals];
  const address = lookup === undefined ? positionals.shift() : undefined;
  const [topic, payloadText, ...extra] = positionals;
  const most = command === "publish" ? 2 : 1;
  if (topic === undefined || positionals.length > most || extra.length > 0 || (lookup === undefined && address === undefined)) {
    const what = command === "publish" ? "<topic> ['<json>']" : "<topic>";
    throw new UsageError(lookup === undefined ? `expects <address> ${what}, or --cluster/--seeds/--registry and ${what}` : `expects ${what}`, command);
  }
  if (!TOPIC.test(topic)) throw new UsageError(`"${topic}" is not a topic name: letters, digits and . _ - : only`, command);
  let payload: unknown = null;
  if (payloadText !== undefined) {
    try {
      payload = JSON.parse(payloadText);
    } catch (error) {
      throw new UsageError(`the payload is not valid JSON (${(error as Error).message}); quote it for the shell, as in '{"sku":"tea"}'`, command);
    }
  }
  const count = stringOption(args, "count");
  const forText = stringOption(args, "for");
  return {
    address: address === undefined ? undefined : checkSocketAddress(address, command),
    lookup,
    topic,
    payload,
    wait: planWait(args, command),
    json: flagOption(args, "json"),
    count: count === undefined ? undefined : parseCount(count, "count", command),
    forMs: forText === undefined ? undefined : parseDuration(forText, "for", command, 1, MAX_FOR_MS),
    tls: planClientTls(args, command),
  };
}

/** `amoeba publish`: returns the exit code. */
export async function runPublish(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(PUBLISH, argv, io);
  if (!args) return EXIT.ok;
  const plan = planEvents(args, "publish");
  const reach = await open(plan, "publish");
  try {
    const reached = await reach.connectAll();
    if (reached.length === 0) throw new CliError(`no node of ${reach.where} could be reached`, EXIT.unreachable);
    reach.node.publish(plan.topic, plan.payload);
    if (plan.json) io.out(toJson({ topic: plan.topic, payload: plan.payload, nodes: reached.map((peer) => peer.remote.name) }, true));
    else io.out(`published on ${plan.topic} through ${plural(reached.length, "connected node")} (${reached.map((peer) => peer.remote.name).join(", ")}); those that subscribed receive it`);
    return EXIT.ok;
  } finally {
    await reach.close();
  }
}

/** `amoeba subscribe`: returns the exit code. */
export async function runSubscribe(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(SUBSCRIBE, argv, io);
  if (!args) return EXIT.ok;
  const plan = planEvents(args, "subscribe");
  const reach = await open(plan, "subscribe");
  const paint = paletteFor();
  let seen = 0;
  let stop = (): void => {};
  const done = new Promise<void>((resolve) => (stop = resolve));
  reach.node.subscribe(plan.topic, (payload, info) => {
    if (plan.count !== undefined && seen >= plan.count) return;
    seen++;
    const at = new Date();
    if (plan.json) io.out(toJson({ topic: info.topic, from: info.from, at: at.toISOString(), payload }, true));
    else io.out(`${paint.dim(at.toISOString().slice(11, 23))}  ${paint.bold(info.from)}  ${toJson(payload, true)}`);
    if (plan.count !== undefined && seen >= plan.count) stop();
  });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const timer = plan.forMs === undefined ? undefined : setTimeout(stop, plan.forMs);
  try {
    const reached = await reach.connectAll();
    if (reached.length === 0) throw new CliError(`no node of ${reach.where} could be reached`, EXIT.unreachable);
    if (!plan.json) io.err(`subscribed to ${plan.topic} on ${plural(reached.length, "node")} of ${reach.where}; Ctrl-C stops`);
    // Nodes that join later are subscribed to as they appear.
    const rescan = reach.lookup ? setInterval(() => void reach.connectAll().catch(() => {}), RESCAN_MS) : undefined;
    await done;
    if (rescan) clearInterval(rescan);
    return EXIT.ok;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await reach.close();
  }
}

/** The node the command speaks through, and the nodes it connects to. */
interface Reach {
  readonly node: Node;
  readonly where: string;
  readonly lookup: boolean;
  /** Connects to every live node not yet connected; resolves with all connected. */
  connectAll(): Promise<Peer[]>;
  close(): Promise<void>;
}

async function open(plan: EventPlan, command: string): Promise<Reach> {
  const peers = new Map<string, Peer>();
  let view: ToolView | undefined;
  let node: Node;
  if (plan.lookup !== undefined) {
    view = await joinAsTool(plan.lookup, command, { wait: plan.wait.ms, fixed: plan.wait.fixed, tls: plan.tls });
    node = view.node;
  } else {
    node = new Node({ name: `amoeba-${command}-${process.pid}`, logger: SILENT, drainTimeout: 0, ...(plan.tls !== undefined ? { clientTls: plan.tls } : {}), ...tokenOption(command) });
  }
  const targets = (): string[] => {
    if (view === undefined) return [plan.address!];
    const host = hostname();
    return view
      .members()
      .filter((member) => member.state === "alive" || member.state === "suspect")
      .map((member) => reachableAddress(member.record, host))
      .filter((address): address is string => address !== undefined);
  };
  return {
    node,
    where: plan.lookup !== undefined ? describeWhere(plan.lookup) : `the node at ${plan.address}`,
    lookup: view !== undefined,
    async connectAll() {
      await Promise.all(
        targets()
          .filter((address) => !peers.has(address))
          .map(async (address) => {
            try {
              const peer = await node.connect(address, { connectTimeout: 3_000 });
              // One round trip: the node's SUBSCRIBE frames, sent right after its HELLO, have then been read.
              await peer.client(ReflectionContract).describe({ service: "amoeba.events" }, { timeout: 3_000 }).catch(() => {});
              peers.set(address, peer);
            } catch {
              // A node that cannot be reached now is tried again at the next scan.
            }
          }),
      );
      return [...peers.values()];
    },
    async close() {
      if (view !== undefined) await view.close();
      else await node.close({ timeout: 1_000 });
    },
  };
}
