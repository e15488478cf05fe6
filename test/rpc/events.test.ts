// Events: publish reaches local subscribers and subscribed nodes at either end of a connection, and no one else;
// typed topics drop payloads that fail their schema; a failing subscriber harms no other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, topic, unary, type EventInfo, type Node, type Peer } from "../../src/index.ts";
import { recordingLogger, sleep, waitFor, withTeardown, type Teardown } from "./support.ts";

const Ping = contract("rpc.ping", "1.0.0", {
  ping: unary({ input: z.object({}), output: z.string() }),
});

/** A hub node A that listens, serving Ping so that others can wait for their frames to reach it. */
async function hub(td: Teardown, name = "node-a") {
  const logger = recordingLogger();
  const node = await td.node({ name, listen: "tcp://127.0.0.1:0", logger });
  node.serve(Ping, { ping: () => "pong" });
  return { node, logger };
}

/** A node that dials the hub; `barrier()` returns once the hub has handled everything sent so far. */
async function spoke(td: Teardown, address: string, name: string, before?: (node: Node) => void) {
  const logger = recordingLogger();
  const node = await td.node({ name, logger });
  before?.(node);
  const peer: Peer = await node.connect(address);
  // Frames on a connection are handled in order: when the answer to a ping arrives, the hub
  // has handled our subscriptions, and we have handled whatever it sent before the answer.
  const barrier = async () => {
    assert.equal(await peer.client(Ping).ping({}), "pong");
  };
  await barrier();
  return { node, peer, logger, barrier };
}

type Got = Array<{ payload: unknown; from: string }>;
const collect = (into: Got) => (payload: unknown, info: EventInfo) => {
  into.push({ payload, from: info.from });
};

test("publish reaches local subscribers and subscribed nodes in both directions of a connection, not others", () =>
  withTeardown(async (td) => {
    const atA: Got = [];
    const atB: Got = [];
    const atC: Got = [];
    const { node: a } = await hub(td);
    a.subscribe("news", collect(atA));
    const b = await spoke(td, a.addresses[0]!, "node-b", (node) => node.subscribe("news", collect(atB)));
    const c = await spoke(td, a.addresses[0]!, "node-c", (node) => node.subscribe("other", collect(atC)));

    a.publish("news", { n: 1 });
    await waitFor(() => atA.length === 1 && atB.length === 1, 2_000, "A's event reaches A and B");
    assert.deepEqual(atA, [{ payload: { n: 1 }, from: "node-a" }]);
    assert.deepEqual(atB, [{ payload: { n: 1 }, from: "node-a" }], "from the listening end to the dialing end");

    b.node.publish("news", { n: 2 });
    await waitFor(() => atA.length === 2 && atB.length === 2, 2_000, "B's event reaches A and B");
    assert.deepEqual(atA[1], { payload: { n: 2 }, from: "node-b" }, "from the dialing end to the listening end");
    assert.deepEqual(atB[1], { payload: { n: 2 }, from: "node-b" }, "and to B's own subscriber");

    // C never subscribed to "news". Had A sent it the event anyway, a subscriber C adds right after
    // the publish (before the frame could arrive) would receive it.
    a.publish("news", { n: 3 });
    c.node.subscribe("news", collect(atC));
    await c.barrier();
    a.publish("news", { n: 4 });
    await waitFor(() => atC.length === 1, 2_000, "C receives the event published after it subscribed");
    await b.barrier();
    await sleep(20);
    assert.deepEqual(atC, [{ payload: { n: 4 }, from: "node-a" }], "C got nothing from before it subscribed, and nothing on other topics");
    assert.deepEqual(atB.map((e) => (e.payload as { n: number }).n), [1, 2, 3, 4]);
    assert.equal(atA.length, 4);
  }));

test("unsubscribing tells the other end to stop sending", () =>
  withTeardown(async (td) => {
    const { node: a } = await hub(td);
    const first: Got = [];
    let stop = (): void => {};
    const b = await spoke(td, a.addresses[0]!, "node-b", (node) => {
      stop = node.subscribe("news", collect(first));
    });
    a.publish("news", 1);
    await waitFor(() => first.length === 1, 2_000, "the first event");
    stop();
    await b.barrier();
    const second: Got = [];
    a.publish("news", 2);
    b.node.subscribe("news", collect(second));
    await b.barrier();
    a.publish("news", 3);
    await waitFor(() => second.length === 1, 2_000, "the event after subscribing again");
    await sleep(20);
    assert.deepEqual(second.map((e) => e.payload), [3], "the event published while unsubscribed was not sent");
    assert.deepEqual(first.map((e) => e.payload), [1]);
  }));

test("a typed topic drops payloads that fail its schema, locally and from other nodes", () =>
  withTeardown(async (td) => {
    const Orders = topic("orders.created", z.object({ id: z.number().int(), total: z.number().min(0) }));
    const atA: unknown[] = [];
    const atB: unknown[] = [];
    const { node: a, logger: loggerA } = await hub(td);
    a.subscribe(Orders, (order) => {
      atA.push(order);
    });
    const b = await spoke(td, a.addresses[0]!, "node-b", (node) =>
      node.subscribe(Orders, (order) => {
        atB.push(order);
      }),
    );
    const bad = { id: "seven", total: -1 } as unknown as { id: number; total: number };
    a.publish(Orders, bad);
    a.publish("orders.created", { id: 1.5, total: 3 });
    a.publish(Orders, { id: 7, total: 12.5 });
    await waitFor(() => atA.length >= 1 && atB.length >= 1, 2_000, "the valid order arrives");
    await b.barrier();
    await sleep(20);
    assert.deepEqual(atA, [{ id: 7, total: 12.5 }]);
    assert.deepEqual(atB, [{ id: 7, total: 12.5 }]);
    assert.ok(
      loggerA.records.some((r) => r.level === "warn" && /schema/.test(String((r.obj as { err?: Error }).err?.message))),
      "a dropped payload is reported in the log",
    );
    assert.ok(b.logger.records.some((r) => r.level === "warn"), "the receiving node reports what it dropped");
  }));

test("a subscriber that throws or rejects does not keep the event from the others", () =>
  withTeardown(async (td) => {
    const { node: a } = await hub(td);
    const good: unknown[] = [];
    const localGood: unknown[] = [];
    const b = await spoke(td, a.addresses[0]!, "node-b", (node) => {
      node.subscribe("jobs", () => {
        throw new Error("subscriber one fails");
      });
      node.subscribe("jobs", async () => {
        throw new Error("subscriber two rejects");
      });
      node.subscribe("jobs", (payload) => {
        good.push(payload);
      });
    });
    a.subscribe("jobs", () => {
      throw new Error("local subscriber fails");
    });
    a.subscribe("jobs", (payload) => {
      localGood.push(payload);
    });
    for (const n of [1, 2, 3]) a.publish("jobs", n);
    await waitFor(() => good.length === 3 && localGood.length === 3, 2_000, "every event reaches the good subscribers");
    assert.deepEqual(good, [1, 2, 3]);
    assert.deepEqual(localGood, [1, 2, 3]);
    await b.barrier();
    const failures = b.logger.records.filter((r) => r.level === "warn").length;
    assert.ok(failures >= 6, `each failure is logged (${failures} warnings)`);
    assert.equal(await b.peer.client(Ping).ping({}), "pong", "the connection is unharmed");
  }));
