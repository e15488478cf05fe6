// The proof of entity types under faults, Jepsen-style, with real processes and a real store: three
// node processes serve a ledger per key (1,000 keys) on one PostgreSQL store; 50 callers append to them
// without pause, each call with its own idempotency key and retried with it until acknowledged. Under
// that load: kill -9 of a node, a node joining, a node leaving gracefully. Afterwards every ledger
// holds exactly its acknowledged appends, in the order they were acknowledged: no acknowledged
// update lost, none applied twice, nothing unacknowledged. Prints calls/s, hand-off times and the
// attempts that failed in each phase.
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startNode, type Node } from "../../src/index.ts";
import { decodeEntityDocument, entities, openPostgresStore } from "../../src/entity/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { NodeChild, type NodeReadyMessage } from "../support/ipc-child.ts";
import { requireOrSkip } from "../support/require.ts";
import { Ledger, type LedgerState } from "./fixtures/ledger.ts";
import { dropPostgresTables, POSTGRES_URL, reachable } from "./support.ts";

const NODE = fileURLToPath(new URL("./fixtures/ledger-node.ts", import.meta.url));
const KEYS = 1_000;
const CALLERS = 50;
const LEASE_MS = 2_000;
/** A logical call gives up after this long (the test then fails): far above a hand-off. */
const CALL_BOUND_MS = 30_000;

type LedgerNode = NodeChild<{ cmd: "close" }>;

async function startLedgerNode(name: string, cluster: string, table: string, env: NodeJS.ProcessEnv): Promise<LedgerNode> {
  const child = fork(NODE, [name, cluster, table, String(LEASE_MS)], { execArgv: ["--import", "tsx"], env, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? String(code))));
  const ready = await new Promise<NodeReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s: ${stderr}`)), 30_000);
    child.once("message", (message: NodeReadyMessage) => {
      clearTimeout(timer);
      resolve(message);
    });
    void exited.then((how) => reject(new Error(`${name} exited (${how}) before it was ready: ${stderr}`)));
  });
  return new NodeChild("ledger node", child, ready, exited);
}

/** What the callers saw: acknowledged appends per key, and each attempt, for the figures. */
class History {
  readonly acked = new Map<string, string[]>();
  /** When each acknowledged call started and was acknowledged, and by which node, per key. */
  readonly acks = new Map<string, Array<{ started: number; at: number; node: string }>>();
  readonly attempts: Array<{ at: number; ok: boolean }> = [];

  constructor(keys: readonly string[]) {
    for (const key of keys) {
      this.acked.set(key, []);
      this.acks.set(key, []);
    }
  }

  /**
   * The calls to `keys` in flight at `at` (the hand-off caught them): how long
   * each went on after it, until acknowledged.
   */
  caught(keys: readonly string[], at: number): number[] {
    const waits: number[] = [];
    for (const key of keys) {
      const ack = this.acks.get(key)!.find((each) => each.started <= at && each.at > at);
      if (ack) waits.push(ack.at - at);
    }
    return waits;
  }

  /** Whether every key of `keys` has a call acknowledged after `at` by a node other than `old`. */
  servedAgain(keys: readonly string[], at: number, old: string): boolean {
    return keys.every((key) => this.acks.get(key)!.some((each) => each.at > at && each.node !== old));
  }

  /** The latencies of the calls acknowledged between two times, ms. */
  latencies(from: number, to: number): number[] {
    const out: number[] = [];
    for (const list of this.acks.values()) for (const each of list) if (each.at >= from && each.at < to) out.push(each.at - each.started);
    return out;
  }

  /** Calls acknowledged, and attempts that failed, between two times. */
  between(from: number, to: number): { acked: number; failed: number } {
    let acked = 0;
    let failed = 0;
    for (const attempt of this.attempts) {
      if (attempt.at < from || attempt.at >= to) continue;
      if (attempt.ok) acked++;
      else failed++;
    }
    return { acked, failed };
  }
}

/** "341 keys moved; the 17 calls in flight on them were acknowledged after median 2,100 ms, max 3,000 ms". */
function caughtText(keys: readonly string[], waits: number[], whose: string): string {
  return `${keys.length} keys moved; the ${waits.length} calls in flight on ${whose} keys then were acknowledged after median ${median(waits)} ms, max ${Math.max(...waits)} ms`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Waits until `probe` holds, at most `ms`; false if it never did. */
async function until(probe: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) return false;
    await sleep(25);
  }
  return true;
}

async function scenario(t: TestContext, table: string): Promise<void> {
  const rendezvous = await mkdtemp(join(tmpdir(), "amoeba-entity-faults-"));
  const env = { ...process.env, AMOEBA_RENDEZVOUS_DIR: rendezvous };
  process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
  const cluster = `ledger-${process.pid}-${randomBytes(3).toString("hex")}`;
  const nodes: LedgerNode[] = [];
  let caller: Node | undefined;
  try {
    nodes.push(...(await Promise.all(["a", "b", "c"].map((name) => startLedgerNode(name, cluster, table, env)))));
    caller = await startNode({ name: "callers", cluster, lookup: { membership: FAST_MEMBERSHIP_CONFIG } });
    const ledgers = entities(caller, Ledger, { timeout: 3_000 });
    const callerNode = caller;
    assert.ok(await until(() => callerNode.lookup(Ledger).length === 3, 20_000), "the caller sees the three nodes");

    const keys = Array.from({ length: KEYS }, (_, i) => `ledger-${i}`);
    const history = new History(keys);
    let stop = false;
    let gaveUp: Error | undefined;
    /** One logical call: the same idempotency key at every attempt, until acknowledged. */
    const append = async (key: string): Promise<void> => {
      const done = history.acked.get(key)!;
      const entry = `${key}/${done.length}`;
      const started = Date.now();
      for (const bound = Date.now() + CALL_BOUND_MS; ; ) {
        try {
          const { length, node } = await ledgers.for(key).append({ entry }, { idempotencyKey: entry });
          const now = Date.now();
          history.attempts.push({ at: now, ok: true });
          history.acks.get(key)!.push({ started, at: now, node });
          done.push(entry);
          assert.equal(length, done.length, `${key}: the ledger's length after ${entry}`);
          return;
        } catch (error) {
          history.attempts.push({ at: Date.now(), ok: false });
          if (Date.now() > bound) throw new Error(`${entry} was not acknowledged within ${CALL_BOUND_MS} ms: ${(error as Error).message}`);
          await sleep(20);
        }
      }
    };
    // Each caller owns its keys: one call at a time per key, so the acknowledged order is the order of the turns.
    const callers = Array.from({ length: CALLERS }, async (_, c) => {
      const mine = keys.filter((_, i) => i % CALLERS === c);
      for (let round = 0; !stop && !gaveUp; round++) {
        try {
          await append(mine[round % mine.length]!);
        } catch (error) {
          gaveUp = error as Error;
        }
      }
    });

    const phases: Array<{ name: string; from: number; to: number; handOff?: string }> = [];
    const mark = (name: string, from: number, handOff?: string): void => void phases.push({ name, from, to: Date.now(), ...(handOff ? { handOff } : {}) });
    const keysServedBy = (name: string): string[] => keys.filter((key) => history.acks.get(key)!.at(-1)?.node === name);

    let from = Date.now();
    await sleep(3_000);
    mark("steady", from);

    // kill -9 of the node serving the most keys.
    const victim = nodes.reduce((most, node) => (keysServedBy(node.name).length > keysServedBy(most.name).length ? node : most));
    const orphans = keysServedBy(victim.name);
    from = Date.now();
    victim.child.kill("SIGKILL");
    assert.equal(await victim.exited, "SIGKILL");
    assert.ok(await until(() => history.servedAgain(orphans, from, victim.name) || gaveUp !== undefined, 25_000), "the killed node's keys were served again");
    await sleep(1_000);
    mark("kill -9", from, caughtText(orphans, history.caught(orphans, from), "the killed node's"));

    // A node joins: it takes its share.
    from = Date.now();
    const joined = await startLedgerNode("d", cluster, table, env);
    nodes.push(joined);
    assert.ok(await until(() => keysServedBy("d").length > 50 || gaveUp !== undefined, 20_000), "the new node took keys");
    await sleep(2_000);
    mark("join", from, `${keysServedBy("d").length} keys moved to the new node`);

    // A node leaves gracefully: its keys move, with its turns finished and its leases released.
    const leaving = nodes.find((node) => node.alive && node !== joined)!;
    const handed = keysServedBy(leaving.name);
    from = Date.now();
    const closed = leaving.request({ cmd: "close" }, 20_000);
    await closed;
    const closedAfter = Date.now() - from;

    await leaving.exited;
    assert.ok(await until(() => history.servedAgain(handed, from, leaving.name) || gaveUp !== undefined, 20_000), "the leaving node's keys were served again");
    await sleep(1_000);
    mark("leave", from, `the node closed in ${closedAfter} ms; ${caughtText(handed, history.caught(handed, from), "its")}`);

    stop = true;
    await Promise.all(callers);
    if (gaveUp) throw gaveUp;

    // The checker: every ledger, as saved, is exactly its acknowledged appends in order.
    const store = await openPostgresStore({ connectionString: POSTGRES_URL, table, createTables: false });
    let appends = 0;
    try {
      for (const key of keys) {
        const loaded = await store.load(key);
        const saved = loaded.data === undefined ? [] : (decodeEntityDocument(loaded.data).state as LedgerState).entries;
        assert.deepEqual(saved, history.acked.get(key), `${key}: the saved ledger differs from the acknowledged appends (lost, doubled or unacknowledged)`);
        appends += saved.length;
      }
    } finally {
      await store.close();
    }
    // And read through the cluster, for a sample of keys.
    for (const key of keys.slice(0, 20)) assert.deepEqual(await ledgers.for(key).read({}), history.acked.get(key));

    assert.ok(appends > KEYS, `calls were made (${appends})`);
    for (const phase of phases) {
      const { acked, failed } = history.between(phase.from, phase.to);
      const seconds = (phase.to - phase.from) / 1000;
      const latency = history.latencies(phase.from, phase.to).sort((a, b) => a - b);
      const p99 = latency[Math.floor(latency.length * 0.99)] ?? NaN;
      t.diagnostic(`${phase.name}: ${Math.round(acked / seconds)} calls/s over ${seconds.toFixed(1)} s, p50 ${median(latency)} ms, p99 ${p99} ms, ${failed} attempts failed${phase.handOff ? `; ${phase.handOff}` : ""}`);
    }
    t.diagnostic(`${appends} acknowledged appends over ${KEYS} keys, every one saved once, in order`);
  } finally {
    await caller?.close({ timeout: 1_000 });
    for (const node of nodes) if (node.alive) node.child.kill("SIGKILL");
    await Promise.all(nodes.map((node) => node.exited));
    await rm(rendezvous, { recursive: true, force: true });
  }
}

test("entities on PostgreSQL: kill -9, a join and a graceful leave under load lose no acknowledged call and apply none twice", { timeout: 180_000 }, async (t) => {
  if (!requireOrSkip(t, await reachable(5432), "a PostgreSQL server is needed on 127.0.0.1:5432 (db test, trust auth)")) return;
  const table = `amoeba_test_${randomBytes(5).toString("hex")}`;
  // Made here once; the node processes open it without making it.
  await (await openPostgresStore({ connectionString: POSTGRES_URL, table })).close();
  try {
    await scenario(t, table);
  } finally {
    await dropPostgresTables(table);
  }
});
