// Reminders: durable timers of entities. A reminder set in a turn fires as a write turn of its entity
// on the key's owner, once; it may be set again or cancelled; it survives the node that set it (found
// through the store by a node that never knew of it); and with three nodes scanning, each due reminder
// fires once, on its key's owner.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { contract, startNode, unary, type Node } from "../../src/index.ts";
import { entities, openDirectoryStore, serveEntity, type EntityStore } from "../../src/entity/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { rendezvousScore } from "../../src/balance/rendezvous.ts";

const Alarm = contract("alarm", "1.0.0", {
  /** Sets the "ring" reminder `inMs` from now; `every` makes it ring that many times. */
  set: unary({ input: z.object({ inMs: z.number(), times: z.number().default(1) }), output: z.object({}) }),
  cancel: unary({ input: z.object({}), output: z.object({}) }),
  rings: unary({ input: z.object({}), output: z.object({ rang: z.array(z.object({ node: z.string(), late: z.number() })) }) }),
});

interface AlarmState {
  rang: Array<{ node: string; late: number }>;
  left: number;
  every: number;
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "amoeba-reminders-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = join(dir, "rendezvous");
});
after(() => rm(dir, { recursive: true, force: true }));

function serveAlarm(node: Node, store: EntityStore) {
  return serveEntity(node, Alarm, {
    store,
    initial: (): AlarmState => ({ rang: [], left: 0, every: 0 }),
    readOnly: ["rings"],
    handlers: {
      set({ inMs, times }, alarm) {
        alarm.state = { ...alarm.state, left: times, every: inMs };
        alarm.remind("ring", inMs);
        return {};
      },
      cancel(_input, alarm) {
        alarm.forget("ring");
        return {};
      },
      rings: (_input, alarm) => ({ rang: alarm.state.rang }),
    },
    reminders: {
      ring(alarm, { due }) {
        const left = alarm.state.left - 1;
        alarm.state = { ...alarm.state, left, rang: [...alarm.state.rang, { node: node.name, late: Date.now() - due }] };
        if (left > 0) alarm.remind("ring", alarm.state.every);
      },
    },
  });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A store of the test's own, closed after the nodes the test lists in `nodes` (they give their keys up first). */
async function openStore(t: TestContext, name: string, nodes: Node[]): Promise<EntityStore> {
  const store = await openDirectoryStore({ dir: join(dir, name) });
  t.after(async () => {
    await Promise.all(nodes.map((node) => node.close({ timeout: 2_000 })));
    await store.close();
  });
  return store;
}

test("a reminder fires once as a turn of its entity, may ring again, and a cancelled one never fires", async (t) => {
  const nodes: Node[] = [];
  const store = await openStore(t, "once", nodes);
  const node = await startNode({ name: "clock" });
  nodes.push(node);
  await serveAlarm(node, store);
  const alarms = entities(node, Alarm);
  await alarms.for("once").set({ inMs: 300, times: 1 });
  await alarms.for("thrice").set({ inMs: 200, times: 3 });
  await alarms.for("cancelled").set({ inMs: 300, times: 1 });
  await alarms.for("cancelled").cancel({});
  const thrice = await eventually("three rings", async () => {
    const { rang } = await alarms.for("thrice").rings({});
    return rang.length >= 3 && rang;
  });
  await sleep(1_200);
  assert.equal((await alarms.for("once").rings({})).rang.length, 1, "rang once");
  assert.equal((await alarms.for("thrice").rings({})).rang.length, 3, "rang three times, then stopped");
  assert.equal((await alarms.for("cancelled").rings({})).rang.length, 0, "a cancelled reminder never rang");
  // The scan runs every 500 ms: a reminder rings within about that of its time, never before it.
  for (const ring of thrice) assert.ok(ring.late >= 0 && ring.late < 2_000, `rang ${ring.late} ms after it was due`);
});

test("a reminder survives its node: a node that never knew of it finds it in the store and rings it", async (t) => {
  const nodes: Node[] = [];
  const store = await openStore(t, "restart", nodes);
  const first = await startNode({ name: "first" });
  const served = await serveAlarm(first, store);
  await entities(first, Alarm).for("wake-me").set({ inMs: 800, times: 1 });
  // Gone before it was due: nothing in memory anywhere knows of the reminder now.
  await served.stop();
  await first.close();
  const second = await startNode({ name: "second" });
  nodes.push(second);
  await serveAlarm(second, store);
  const rang = await eventually("the ring on the second node", async () => {
    const { rang } = await entities(second, Alarm).for("wake-me").rings({});
    return rang.length > 0 && rang;
  });
  assert.deepEqual(rang.map((ring) => ring.node), ["second"]);
});

test("with three nodes, each due reminder rings once, on its key's owner", async (t) => {
  const nodes: Node[] = [];
  const store = await openStore(t, "three", nodes);
  const cluster = `reminders-${process.pid}`;
  for (let i = 0; i < 3; i++) nodes.push(await startNode({ name: `r${i}`, cluster, listen: "tcp://127.0.0.1:0", lookup: { membership: FAST_MEMBERSHIP_CONFIG } }));
  await Promise.all(nodes.map((node) => serveAlarm(node, store)));
  await eventually("every node sees three alarms", async () => nodes.every((node) => node.lookup(Alarm).length === 3));
  const alarms = entities(nodes[0]!, Alarm);
  const keys = Array.from({ length: 30 }, (_, i) => `a${i}`);
  await Promise.all(keys.map((key, i) => alarms.for(key).set({ inMs: 300 + 20 * i, times: 1 })));
  await eventually("every alarm rang", async () => (await Promise.all(keys.map((key) => alarms.for(key).rings({})))).every(({ rang }) => rang.length > 0), 15_000);
  await sleep(1_000);
  const owner = (key: string) => nodes.reduce((best, node) => (rendezvousScore(key, node.id) > rendezvousScore(key, best.id) ? node : best)).name;
  for (const key of keys) {
    const { rang } = await alarms.for(key).rings({});
    assert.equal(rang.length, 1, `${key} rang once`);
    assert.equal(rang[0]!.node, owner(key), `${key} rang on its owner`);
  }
});
