// Entities across network partitions, with real processes on test hosts (network namespaces joined by a
// bridge, cut with nftables): three ledger nodes, a Redis store on a host of its own, and the callers on
// a fifth host, 1,000 keys under steady load. A node cut off from its peers but not from the store keeps
// its keys — no other node acknowledges a single call on them while the cut lasts — and serves them again
// once healed. A node cut off from the store too loses its leases: the others take its keys within the
// lease's TTL, and its late writes are fenced off. Afterwards every ledger holds exactly its
// acknowledged appends, in order.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { IpcChild, NodeChild, type NodeReadyMessage } from "../support/ipc-child.ts";
import { requireOrSkip } from "../support/require.ts";
import { TestNetwork, unavailableReason } from "../lookup/faults/netns.ts";
import { History, phaseLine, type HistoryData } from "./fixtures/ledger-load.ts";
import type { LedgerNodeOptions } from "./fixtures/ledger-node.ts";
import type { LedgerStoreSpec } from "./fixtures/ledger-store.ts";
import { startedChild } from "./fixtures/started-child.ts";

const NODE = fileURLToPath(new URL("./fixtures/ledger-node.ts", import.meta.url));
const CALLER = fileURLToPath(new URL("./fixtures/ledger-caller.ts", import.meta.url));
const KEYS = 1_000;
const LEASE_MS = 2_000;
const CUT_MS = 6_000;
const reason = unavailableReason();

type Callers = IpcChild<{ name: string }, { cmd: string; count?: number }>;

/** Runs `argv` on a host; resolves with the child once it sent its first IPC message. */
async function startOn<T>(net: TestNetwork, host: string, argv: string[], what: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; ready: T; exited: Promise<string> }> {
  const child = spawn("ip", ["netns", "exec", net.host(host).netns, process.execPath, "--import", "tsx", ...argv], { env, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  return startedChild<T>(child, what);
}

/** redis-server on host `s`, listening on its address only; resolves once it accepts connections. */
async function startRedis(net: TestNetwork): Promise<string> {
  const { netns, ip } = net.host("s");
  const child = spawn("ip", ["netns", "exec", netns, "redis-server", "--bind", ip, "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s: ${output}`)), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
  });
  return `redis://${ip}:6379`;
}

/** Waits until `probe` holds, at most `ms`; false if it never did. */
async function until(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

test("entities across partitions: a node cut off from its peers keeps its keys, one cut off from the store too loses them, and nothing acknowledged is lost or doubled", { timeout: 240_000 }, async (t: TestContext) => {
  if (!requireOrSkip(t, reason === null, `partition tests need network namespaces: ${reason}`)) return;
  const net = new TestNetwork(t, ["a", "b", "c", "d", "s"]);
  const rendezvous = await mkdtemp(join(tmpdir(), "amoeba-entity-partition-"));
  t.after(() => rm(rendezvous, { recursive: true, force: true }));
  const env = { ...process.env, AMOEBA_RENDEZVOUS_DIR: rendezvous };
  const cluster = `ledger-cut-${process.pid}`;
  const clusterKey = randomBytes(32).toString("base64");
  const store: LedgerStoreSpec = { kind: "redis", url: await startRedis(net), prefix: `ledger-cut-${randomBytes(4).toString("hex")}:` };
  const seed = `udp://${net.host("a").ip}:7946`;

  const nodes = await Promise.all(
    ["a", "b", "c"].map(async (name) => {
      const { ip } = net.host(name);
      const options: LedgerNodeOptions = { name, cluster, store, leaseMs: LEASE_MS, listen: `tcp://${ip}:7400`, gossip: `udp://${ip}:7946`, seeds: name === "a" ? [] : [seed], clusterKey };
      const { child, ready, exited } = await startOn<NodeReadyMessage>(net, name, [NODE, JSON.stringify(options)], `ledger node ${name}`, env);
      return new NodeChild<{ cmd: "close" }>("ledger node", child, ready, exited);
    }),
  );
  const callerOptions = { cluster, gossip: `udp://${net.host("d").ip}:7946`, seeds: [seed], clusterKey, store, keys: KEYS, callers: 50, boundMs: 60_000 };
  const started = await startOn<{ name: string }>(net, "d", [CALLER, JSON.stringify(callerOptions)], "the callers", env);
  const callers: Callers = new IpcChild("callers", started.child, started.ready, started.exited);
  await callers.request({ cmd: "await", count: 3 }, 25_000);
  await callers.request({ cmd: "start" });
  const lines: string[] = [];
  const history = async (): Promise<History> => History.from(await callers.request<HistoryData>({ cmd: "history" }));

  let from = Date.now();
  await sleep(3_000);
  let seen = await history();
  lines.push(phaseLine(seen, "steady", from, Date.now()));

  // 1. Node a cut off from b, c and the callers, not from the store: it renews its leases and keeps its keys.
  const kept = seen.servedBy("a");
  assert.ok(kept.length > 0, "node a served keys before the cut");
  from = Date.now();
  net.partition(["a"], ["b", "c", "d"]);
  await sleep(CUT_MS);
  seen = await history();
  const cutEnded = Date.now();
  net.heal();
  const secondOwner = kept.flatMap((key) => seen.acks.get(key)!.filter((ack) => ack.at > from && ack.node !== "a").map((ack) => `${key} by ${ack.node}`));
  assert.deepEqual(secondOwner, [], "while a kept its leases, no other node acknowledged a call on its keys");
  assert.ok(await until(async () => (await history()).servedAgain(kept, cutEnded, "nobody"), 30_000), "a's keys were served again after the heal");
  seen = await history();
  const keptBack = kept.map((key) => seen.acks.get(key)!.find((ack) => ack.at > cutEnded)!.at - cutEnded).sort((x, y) => x - y);
  lines.push(
    phaseLine(seen, "cut from peers", from, Date.now(), `a held ${kept.length} keys; none acknowledged by another node during the ${CUT_MS} ms cut; all served again within ${keptBack.at(-1)} ms of the heal (median ${keptBack[Math.floor(keptBack.length / 2)]} ms)`),
  );

  // 2. The node serving the most keys cut off from everyone, the store too: its leases lapse, the others take over.
  await sleep(2_000);
  seen = await history();
  const victim = ["a", "b", "c"].reduce((most, name) => (seen.servedBy(name).length > seen.servedBy(most).length ? name : most));
  const lost = seen.servedBy(victim);
  const others = ["a", "b", "c", "d"].filter((name) => name !== victim);
  from = Date.now();
  net.partition([victim], [...others, "s"]);
  const takenOver = await until(async () => (await history()).servedAgain(lost, from, victim), 30_000);
  seen = await history();
  const takeover = lost.map((key) => seen.acks.get(key)!.find((ack) => ack.at > from && ack.node !== victim)?.at ?? NaN).map((at) => at - from).sort((x, y) => x - y);
  await sleep(1_000);
  net.heal();
  const healedAt = Date.now();
  assert.ok(takenOver, `the others took ${victim}'s keys while it was cut off from the store`);
  // Healed, the keys go back to their owner by rendezvous; let them move and settle.
  await callers.request({ cmd: "await", count: 3 }, 25_000);
  await sleep(3_000);
  seen = await history();
  lines.push(
    phaseLine(seen, "cut from all", from, Date.now(), `${victim} held ${lost.length} keys; the others served each again after median ${takeover[Math.floor(takeover.length / 2)]} ms, max ${takeover.at(-1)} ms (lease ${LEASE_MS} ms, calls time out after 3,000 ms); healed ${Date.now() - healedAt} ms ago`),
  );

  const { history: data, gaveUp } = await callers.request<{ history: HistoryData; gaveUp: string | null }>({ cmd: "stop" }, 90_000);
  assert.equal(gaveUp, null, "every logical call was acknowledged");
  const final = History.from(data);
  const saved = new Map(Object.entries(await callers.request<Record<string, string[]>>({ cmd: "saved" }, 60_000)));
  assert.deepEqual(final.mismatches(saved), [], "every saved ledger is exactly its acknowledged appends (none lost, doubled or unacknowledged)");
  assert.ok(final.total > KEYS, `calls were made (${final.total})`);
  for (const line of lines) t.diagnostic(line);
  t.diagnostic(`${final.total} acknowledged appends over ${KEYS} keys, every one saved once, in order`);
  for (const node of nodes) node.child.kill("SIGKILL");
  callers.child.kill("SIGKILL");
});
