// The turn scheduler alone: FIFO turns, reads alongside reads, writes alone, bounded queue.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TurnQueue } from "../../src/entity/index.ts";
import { RpcError } from "../../src/rpc/rpc-error.ts";

/** A turn body that waits until released, logging when it starts and ends. */
function gate(log: string[], name: string): { body: () => Promise<string>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    body: async () => {
      log.push(`start ${name}`);
      await opened;
      log.push(`end ${name}`);
      return name;
    },
    open: () => open(),
  };
}

const ticks = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

test("writes run one at a time, in arrival order", async () => {
  const queue = new TurnQueue();
  const log: string[] = [];
  const gates = ["w1", "w2", "w3"].map((name) => gate(log, name));
  const done = gates.map((g) => queue.run("write", g.body));
  await ticks();
  assert.deepEqual(log, ["start w1"]);
  assert.equal(queue.size, 3);
  gates[1]!.open(); // w2 may not start before w1 ends, released or not
  await ticks();
  assert.deepEqual(log, ["start w1"]);
  gates[0]!.open();
  gates[2]!.open();
  assert.deepEqual(await Promise.all(done), ["w1", "w2", "w3"]);
  assert.deepEqual(log, ["start w1", "end w1", "start w2", "end w2", "start w3", "end w3"]);
  assert.ok(queue.idle);
});

test("reads next to each other run together; a write waits for them, and reads behind a write wait for it", async () => {
  const queue = new TurnQueue();
  const log: string[] = [];
  const [r1, r2, w, r3, r4] = ["r1", "r2", "w", "r3", "r4"].map((name) => gate(log, name)) as ReturnType<typeof gate>[];
  const done = [queue.run("read", r1!.body), queue.run("read", r2!.body), queue.run("write", w!.body), queue.run("read", r3!.body), queue.run("read", r4!.body)];
  await ticks();
  assert.deepEqual(log, ["start r1", "start r2"]);
  r2!.open();
  await ticks();
  assert.deepEqual(log, ["start r1", "start r2", "end r2"], "the write waits for every read before it");
  r1!.open();
  await ticks();
  assert.deepEqual(log.slice(3), ["end r1", "start w"]);
  r3!.open();
  await ticks();
  assert.deepEqual(log.slice(5), [], "reads behind the write wait for it");
  w!.open();
  await ticks();
  assert.deepEqual(log.slice(5), ["end w", "start r3", "start r4", "end r3"]);
  r4!.open();
  await Promise.all(done);
  assert.ok(queue.idle);
});

test("a failing turn (thrown or rejected) fails its caller only; the next turn runs", async () => {
  const queue = new TurnQueue();
  const thrown = queue.run("write", () => {
    throw new Error("sync");
  });
  const rejected = queue.run("write", async () => {
    throw new Error("async");
  });
  const fine = queue.run("write", () => 42);
  await assert.rejects(thrown, /sync/);
  await assert.rejects(rejected, /async/);
  assert.equal(await fine, 42);
});

test("whenIdle resolves once every queued turn ended; a full queue refuses as unprocessed RESOURCE_EXHAUSTED", async () => {
  const queue = new TurnQueue({ maxQueued: 2 });
  const log: string[] = [];
  const g = gate(log, "w");
  const running = queue.run("write", g.body);
  const queued = [queue.run("write", () => "q1"), queue.run("read", () => "q2")];
  await ticks();
  await assert.rejects(queue.run("write", () => "q3"), (error: unknown) => error instanceof RpcError && error.code === "RESOURCE_EXHAUSTED" && error.unprocessed);
  let idle = false;
  const whenIdle = queue.whenIdle().then(() => (idle = true));
  await ticks();
  assert.equal(idle, false);
  g.open();
  await Promise.all([running, ...queued, whenIdle]);
  assert.equal(idle, true);
  await queue.whenIdle();
});
