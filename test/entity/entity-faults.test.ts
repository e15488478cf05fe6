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
import { caughtText, phaseLine, startLedgerLoad } from "./fixtures/ledger-load.ts";
import type { LedgerNodeOptions } from "./fixtures/ledger-node.ts";
import { openLedgerStore } from "./fixtures/ledger-store.ts";
import { startedChild } from "./fixtures/started-child.ts";
import { dropPostgresTables, POSTGRES_URL, reachable } from "./support.ts";

const NODE = fileURLToPath(new URL("./fixtures/ledger-node.ts", import.meta.url));
const KEYS = 1_000;
const CALLERS = 50;
const LEASE_MS = 2_000;
/** A logical call gives up after this long (the test then fails): far above a hand-off. */
const CALL_BOUND_MS = 30_000;

type LedgerNode = NodeChild<{ cmd: "close" }>;

async function startLedgerNode(name: string, cluster: string, table: string, env: NodeJS.ProcessEnv): Promise<LedgerNode> {
  const options: LedgerNodeOptions = { name, cluster, store: { kind: "postgres", table }, leaseMs: LEASE_MS };
  const started = fork(NODE, [JSON.stringify(options)], { execArgv: ["--import", "tsx"], env, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  const { child, ready, exited } = await startedChild<NodeReadyMessage>(started, `ledger node ${name}`);
  return new NodeChild("ledger node", child, ready, exited);
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
    const callerNode = caller;
    assert.ok(await until(() => callerNode.lookup(Ledger).length === 3, 20_000), "the caller sees the three nodes");
    const ledgers = entities(caller, Ledger);
    const keys = Array.from({ length: KEYS }, (_, i) => `ledger-${i}`);
    const load = startLedgerLoad((key) => ledgers.for(key), keys, CALLERS, CALL_BOUND_MS);
    const { history } = load;
    const lines: string[] = [];
    const phase = (name: string, from: number, extra?: string): void => void lines.push(phaseLine(history, name, from, Date.now(), extra));

    let from = Date.now();
    await sleep(3_000);
    phase("steady", from);

    // kill -9 of the node serving the most keys.
    const victim = nodes.reduce((most, node) => (history.servedBy(node.name).length > history.servedBy(most.name).length ? node : most));
    const orphans = history.servedBy(victim.name);
    from = Date.now();
    victim.child.kill("SIGKILL");
    assert.equal(await victim.exited, "SIGKILL");
    assert.ok(await until(() => history.servedAgain(orphans, from, victim.name) || load.gaveUp !== undefined, 25_000), "the killed node's keys were served again");
    await sleep(1_000);
    phase("kill -9", from, `the others served its keys from ${history.takenOverAfter(orphans, from, victim.name)} ms after the kill (lease ${LEASE_MS} ms); ${caughtText(orphans, history.caught(orphans, from), "its")}`);

    // A node joins: it takes its share.
    from = Date.now();
    const joined = await startLedgerNode("d", cluster, table, env);
    nodes.push(joined);
    assert.ok(await until(() => history.servedBy("d").length > 50 || load.gaveUp !== undefined, 20_000), "the new node took keys");
    await sleep(2_000);
    phase("join", from, `${history.servedBy("d").length} keys moved to the new node`);

    // A node leaves gracefully: its keys move, with its turns finished and its leases released.
    const leaving = nodes.find((node) => node.alive && node !== joined)!;
    const handed = history.servedBy(leaving.name);
    from = Date.now();
    await leaving.request({ cmd: "close" }, 20_000);
    const closedAfter = Date.now() - from;
    await leaving.exited;
    assert.ok(await until(() => history.servedAgain(handed, from, leaving.name) || load.gaveUp !== undefined, 20_000), "the leaving node's keys were served again");
    await sleep(1_000);
    phase("leave", from, `the node closed in ${closedAfter} ms; ${caughtText(handed, history.caught(handed, from), "its")}`);

    await load.stop();
    if (load.gaveUp) throw load.gaveUp;

    // The checker: every ledger, as saved, is exactly its acknowledged appends in order.
    const store = await openLedgerStore({ kind: "postgres", table });
    const saved = new Map<string, string[]>();
    try {
      for (const key of keys) {
        // serveEntity keeps each key under its type's name.
        const loaded = await store.load(`${Ledger.name}:${key}`);
        saved.set(key, loaded.data === undefined ? [] : (decodeEntityDocument(loaded.data).state as LedgerState).entries);
      }
    } finally {
      await store.close();
    }
    assert.deepEqual(history.mismatches(saved), [], "every saved ledger is exactly its acknowledged appends (none lost, doubled or unacknowledged)");
    // And read through the cluster, for a sample of keys.
    for (const key of keys.slice(0, 20)) assert.deepEqual(await ledgers.for(key).read({}), history.acked.get(key));
    assert.ok(history.total > KEYS, `calls were made (${history.total})`);
    for (const line of lines) t.diagnostic(line);
    t.diagnostic(`${history.total} acknowledged appends over ${KEYS} keys, every one saved once, in order`);
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
