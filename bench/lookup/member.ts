/**
 * One member of the look-up bench: a node with default membership settings,
 * gossip on udp://127.0.0.1:0, one TCP listener, joined through the seeds it is
 * given. It counts its gossip datagrams and answers the orchestrator's watches.
 * It exits when the orchestrator goes away, so no member outlives a run.
 */
import { installByteMeter, traffic } from "./byte-meter.ts";
import { startNode, type Contract, type Node } from "../../src/index.ts";
import { contract, unary } from "../../src/index.ts";
import type { StandardSchemaV1 } from "../../src/index.ts";
import { preciseNow, watchKey, type FromMember, type MemberArgument, type ToMember } from "./protocol.ts";

installByteMeter();

process.on("disconnect", () => process.exit(0));

function tell(message: FromMember): void {
  process.send?.(message);
}

function fail(error: unknown): void {
  tell({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  setTimeout(() => process.exit(1), 100);
}

// A schema that accepts anything: these services are never called, and a schema
// library would only add start-up time and memory to every member process.
const anything: StandardSchemaV1<unknown, unknown> = {
  "~standard": { version: 1, vendor: "amoeba-bench", validate: (value) => ({ value }) },
};

function probeContract(service: string): Contract {
  return contract(service, "1.0.0", { ping: unary({ input: anything, output: anything }) });
}

function serve(node: Node, service: string): number {
  const at = preciseNow();
  node.serve(probeContract(service), { ping: (input: unknown) => input } as never);
  return at;
}

/** Resolves with the time `accept` first holds for a change of `service`, or null after `limitMs`. */
async function watchUntil(
  node: Node,
  service: string,
  limitMs: number,
  accept: (change: { type: string; instance: { node: { id: string } } }) => boolean,
  started: () => void,
): Promise<number | null> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limitMs);
  try {
    const changes = node.watch(service, { signal: controller.signal })[Symbol.asyncIterator]();
    started();
    for (;;) {
      const next = await changes.next();
      if (next.done) return null;
      if (accept(next.value)) {
        const at = preciseNow();
        await changes.return?.();
        return at;
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const argument = JSON.parse(process.argv[2] ?? "null") as MemberArgument;
  const startedAt = preciseNow();
  const node = await startNode({
    name: argument.name,
    cluster: argument.cluster,
    listen: "tcp://127.0.0.1:0",
    seeds: argument.seeds,
    lookup: { gossip: "udp://127.0.0.1:0" },
  });
  for (let i = 0; i < (argument.services ?? 0); i++) node.serve(probeContract(`bench.background-${i}`), { ping: (input: unknown) => input } as never);
  const joinedAt = preciseNow();
  const servedAt = argument.serve === undefined ? null : serve(node, argument.serve);
  process.on("message", (message: ToMember) => {
    handle(node, message).catch(fail);
  });
  tell({ type: "ready", id: node.id, gossip: node.gossipAddress ?? "", pid: process.pid, startedAt, joinedAt, servedAt });
}

async function handle(node: Node, message: ToMember): Promise<void> {
  switch (message.type) {
    case "watch-service": {
      const key = watchKey(message);
      const at = await watchUntil(node, message.service, message.limitMs, (change) => change.type === "added", () =>
        tell({ type: "watching", key }),
      );
      tell({ type: "seen", key, at });
      return;
    }
    case "watch-dead": {
      const key = watchKey(message);
      const { id } = message;
      // A member that never heard of the node cannot declare it dead: say so, apart from the slow.
      if (!node.lookup(message.service).some((instance) => instance.node.id === id)) {
        tell({ type: "watching", key });
        tell({ type: "seen", key, at: null, known: false });
        return;
      }
      const at = await watchUntil(
        node,
        message.service,
        message.limitMs,
        (change) => change.type === "removed" && change.instance.node.id === id,
        () => tell({ type: "watching", key }),
      );
      tell({ type: "seen", key, at });
      return;
    }
    case "serve":
      tell({ type: "served", service: message.service, at: serve(node, message.service) });
      return;
    case "traffic": {
      const members = node.members();
      const active = members.filter((member) => member.state === "alive" || member.state === "suspect").length;
      tell({ type: "traffic", counts: traffic, active, members: members.length, rss: process.memoryUsage.rss() });
      return;
    }
  }
}

main().catch(fail);
