// The two ways an Amoeba call travels on NATS: through the endpoint's queue
// group, where NATS picks the instance (strategies round-robin and random),
// and straight to an instance Amoeba picked (p2c, hash). Both keep deadlines,
// cancellation, metadata and errors.
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, before, describe, test, type TestContext } from "node:test";
import { connect as natsConnect, headers, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { contract, RpcError, startNode, stream, unary, type Node } from "../../src/index.ts";
import { nats, type MicroStats } from "../../src/nats/index.ts";
import { decodeBody, encodeBody } from "../../src/wire/index.ts";
import { recordingLogger, rejection, waitFor } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";

const Echo = contract("group.echo", "1.2.0", {
  where: unary({ input: z.object({ n: z.number() }), output: z.object({ node: z.string(), n: z.number() }), idempotent: true }),
  bytes: unary({ input: z.instanceof(Uint8Array), output: z.instanceof(Uint8Array) }),
  meta: unary({ input: z.null(), output: z.string() }),
  hold: unary({ input: z.object({ ms: z.number() }), output: z.string() }),
  fail: unary({ input: z.object({ code: z.string() }), output: z.null() }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
});

const INSTANCES = 3;

describe("NATS: calls through queue groups and straight to an instance", () => {
  let server: NatsServer | undefined;
  let raw: NatsConnection | undefined;
  const instances: Node[] = [];
  let caller: Node | undefined;
  /** Calls of `hold` whose signal fired, per instance. */
  const cancelled: string[] = [];

  before(async () => {
    if (natsMissing) return;
    server = await startNatsServer();
    const engine = () => nats({ servers: [server!.url], lookup: { heartbeat: 250, sweep: 1_000 } });
    for (let i = 1; i <= INSTANCES; i++) {
      const node = await startNode({ name: `echo-${i}`, cluster: "group", engine: engine(), logger: recordingLogger() });
      node.serve(Echo, {
        where: ({ n }) => ({ node: node.name, n }),
        bytes: (input) => input.map((byte) => byte ^ 0xff),
        meta: (_input, ctx) => {
          ctx.responseMeta["x-answer"] = `from ${node.name}`;
          const user = ctx.meta["amoeba-caller"];
          return `${ctx.meta["x-question"]} via ${ctx.caller.name}${user === undefined ? "" : ` for ${user}`}`;
        },
        hold: ({ ms }, ctx) =>
          new Promise((resolve, reject) => {
            const timer = setTimeout(() => resolve("held"), ms);
            ctx.signal.addEventListener("abort", () => {
              clearTimeout(timer);
              cancelled.push(node.name);
              reject(ctx.signal.reason);
            });
          }),
        fail: ({ code }) => {
          throw new RpcError(code as RpcError["code"], `failed with ${code}`);
        },
        async *count({ to }) {
          for (let i = 1; i <= to; i++) yield i;
        },
      });
      instances.push(node);
    }
    caller = await startNode({ name: "caller", cluster: "group", engine: engine(), logger: recordingLogger() });
    raw = await natsConnect({ servers: [server.url] });
    await waitFor(() => caller!.lookup(Echo).length === INSTANCES, 10_000, "the caller sees every instance");
  });

  after(async () => {
    await raw?.close();
    await Promise.all([caller, ...instances].map((node) => node?.close({ timeout: 500 })));
    await server?.stop();
  });

  function skip(t: TestContext): boolean {
    return !requireOrSkip(t, !natsMissing, natsMissing ?? "");
  }

  /** Requests the queue group has served so far, over every instance ($SRV.STATS). */
  async function groupRequests(): Promise<number> {
    let total = 0;
    const replies = await raw!.requestMany("$SRV.STATS.group_echo", "", { strategy: "stall", stall: 200, maxWait: 3_000 });
    for await (const reply of replies) {
      if (reply.data.length === 0) continue;
      for (const endpoint of reply.json<MicroStats>().endpoints) total += endpoint.num_requests;
    }
    return total;
  }

  test("random and round-robin go through the queue group: NATS spreads the calls over every instance", async (t) => {
    if (skip(t)) return;
    const before = await groupRequests();
    for (const strategy of ["random", "round-robin"] as const) {
      const client = caller!.client(Echo, { balance: { strategy } });
      const answers = await Promise.all(Array.from({ length: 60 }, (_, n) => client.where({ n })));
      assert.deepEqual(
        answers.map((answer) => answer.n),
        Array.from({ length: 60 }, (_, n) => n),
      );
      const reached = new Set(answers.map((answer) => answer.node));
      assert.equal(reached.size, INSTANCES, `${strategy}: every instance served some of the calls (${[...reached].join(", ")})`);
    }
    assert.equal((await groupRequests()) - before, 120, "all 120 calls went to the micro endpoint, through the queue group");
  });

  test("p2c (the default) and hash address an instance directly; hash keeps a key on its instance", async (t) => {
    if (skip(t)) return;
    const before = await groupRequests();
    const p2c = caller!.client(Echo);
    const spread = await Promise.all(Array.from({ length: 30 }, (_, n) => p2c.where({ n })));
    assert.equal(spread.length, 30);
    const hash = caller!.client(Echo, { balance: { strategy: "hash", hashKey: () => "one key" } });
    const sticky = new Set((await Promise.all(Array.from({ length: 20 }, (_, n) => hash.where({ n })))).map((answer) => answer.node));
    assert.equal(sticky.size, 1, "one key, one instance");
    assert.equal((await groupRequests()) - before, 0, "no call went through the queue group");
  });

  test("through the queue group: binary values, metadata both ways, the caller's name, and typed errors", async (t) => {
    if (skip(t)) return;
    const client = caller!.client(Echo, { balance: { strategy: "random" } });
    const bytes = await client.bytes(new Uint8Array([0, 1, 254, 255]));
    assert.deepEqual([...bytes], [255, 254, 1, 0], "a Uint8Array travels as bytes, not JSON");
    let answered: Record<string, string> | undefined;
    const said = await client.meta(null, { meta: { "x-question": "why" }, onMeta: (meta) => (answered = meta) });
    assert.equal(said, "why via caller");
    // A NATS request's caller is only claimed: it cannot speak for an end user.
    assert.equal(await client.meta(null, { meta: { "x-question": "who", "amoeba-caller": "admin" } }), "who via caller");
    assert.match(answered?.["x-answer"] ?? "", /^from echo-\d$/);
    const notFound = await rejection(client.fail({ code: "NOT_FOUND" }));
    assert.equal(notFound.code, "NOT_FOUND");
    assert.match(notFound.message, /failed with NOT_FOUND/);
    const invalid = await rejection(client.where({ n: "x" } as unknown as { n: number }));
    assert.equal(invalid.code, "INVALID_ARGUMENT");
    assert.equal(invalid.unprocessed, true);
  });

  test("through the queue group: the deadline ends a call on time, and cancelling reaches the handler", async (t) => {
    if (skip(t)) return;
    const client = caller!.client(Echo, { balance: { strategy: "random" } });
    const started = Date.now();
    const late = await rejection(client.hold({ ms: 30_000 }, { timeout: 300 }));
    assert.equal(late.code, "DEADLINE_EXCEEDED");
    assert.ok(Date.now() - started < 10_000, "it ended at its deadline, not the handler's end");
    const before = cancelled.length;
    const abort = new AbortController();
    const pending = rejection(client.hold({ ms: 30_000 }, { signal: abort.signal, timeout: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    abort.abort();
    const error = await pending;
    assert.equal(error.code, "CANCELLED");
    await waitFor(() => cancelled.length > before, 10_000, "the handler's signal fired");
  });

  test("what a subject cannot say goes straight: labels, and a version range some instance does not satisfy", async (t) => {
    if (skip(t)) return;
    const before = await groupRequests();
    const labelled = caller!.client(Echo, { balance: { strategy: "random" }, labels: { host: hostname() } });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => labelled.where({ n })));
    assert.equal(answers.length, 10, "calls with labels succeed");
    // Instances serve 1.2.0: a ^1.3.0 client must not be handed to one by NATS.
    const Newer = contract("group.echo", "1.3.0", { where: Echo.methods.where });
    const error = await rejection(caller!.client(Newer, { balance: { strategy: "random" } }).where({ n: 1 }));
    assert.equal(error.code, "UNAVAILABLE");
    assert.match(error.message, /no instance of group\.echo@\^1\.3\.0 is known/);
    assert.equal((await groupRequests()) - before, 0, "neither went through the queue group");
  });

  test("a malformed queue-group request is answered INVALID_ARGUMENT, not processed, and the instance keeps serving", async (t) => {
    if (skip(t)) return;
    const h = headers();
    h.set("Amoeba-Wire", "1");
    const bodies = [
      new Uint8Array([0xc1]),
      encodeBody("not a call"),
      encodeBody([{ n: 1 }, { key: 5 }, null, null, "id", "name"]),
      encodeBody([{ n: 1 }, { big: "x".repeat(20_000) }, null, null, "id", "name"]),
      encodeBody([{ n: 1 }, null, null, -5, "id", "name"]),
    ];
    for (const body of bodies) {
      const reply = await raw!.request("amoeba.svc.group.echo.v1.where", body, { timeout: 5_000, headers: h });
      const answer = decodeBody(reply.data, 64) as [number, unknown[]];
      assert.equal(answer[0], 1, "an error answer");
      assert.equal(answer[1]![0], 3, "INVALID_ARGUMENT");
      assert.equal(answer[1]![6], 1, "not processed");
    }
    const client = caller!.client(Echo, { balance: { strategy: "random" } });
    assert.equal((await client.where({ n: 7 })).n, 7);
  });

  test("streams go straight to an instance whatever the strategy", async (t) => {
    if (skip(t)) return;
    const client = caller!.client(Echo, { balance: { strategy: "random" } });
    const seen: number[] = [];
    for await (const n of client.count({ to: 5 })) seen.push(n);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  test("a service nobody serves fails at once through the queue group: no responders, not processed", async (t) => {
    if (skip(t)) return;
    const Nobody = contract("group.nobody", "1.0.0", { here: unary({ input: z.null(), output: z.null() }) });
    const started = Date.now();
    const error = await rejection(caller!.client(Nobody, { balance: { strategy: "random", retries: 0 } }).here(null, { timeout: 30_000 }));
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(error.unprocessed, true);
    assert.match(error.message, /no responders/);
    assert.ok(Date.now() - started < 5_000, `it failed at once, not at its 30 s deadline (${Date.now() - started} ms)`);
  });
});

describe("NATS: a queue-group call when the NATS server goes away", () => {
  test("the call in flight fails at once as UNAVAILABLE that may have run; once a server is back, calls go through again", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const first = await startNatsServer();
    t.after(() => first.stop());
    const engine = () => nats({ servers: [first.url], lookup: { heartbeat: 250, ttl: 10_000, sweep: 1_000 } });
    const instance = await startNode({ name: "echo", cluster: "group-kill", engine: engine(), logger: recordingLogger() });
    t.after(() => instance.close({ timeout: 500 }));
    instance.serve(Echo, {
      where: ({ n }) => ({ node: instance.name, n }),
      bytes: (input) => input,
      meta: () => "",
      // Unref'd: the call runs on after its caller gave up, and must not hold the test process.
      hold: ({ ms }) => new Promise((resolve) => setTimeout(() => resolve("held"), ms).unref()),
      fail: () => null,
      async *count() {},
    });
    const caller = await startNode({ name: "caller", cluster: "group-kill", engine: engine(), logger: recordingLogger() });
    t.after(() => caller.close({ timeout: 500 }));
    await waitFor(() => caller.lookup(Echo).length === 1, 10_000, "the caller sees the instance");
    const client = caller.client(Echo, { balance: { strategy: "random", retries: 0 } });
    assert.equal((await client.where({ n: 1 })).node, "echo");
    const inFlight = rejection(client.hold({ ms: 60_000 }, { timeout: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const killed = Date.now();
    await first.kill();
    const error = await inFlight;
    assert.equal(error.code, "UNAVAILABLE", error.message);
    assert.equal(error.unprocessed, false, "it was sent: it may have run");
    assert.ok(Date.now() - killed < 5_000, "it failed at once, not at its deadline");
    const second = await startNatsServer({ port: first.port });
    t.after(() => second.stop());
    // Once the instance's client is back (it answers discovery), the queue group reaches it again.
    const raw = await natsConnect({ servers: [second.url] });
    t.after(() => raw.close());
    let back = false;
    for (let attempt = 0; attempt < 100 && !back; attempt++) {
      back = (await raw.request("$SRV.PING.group_echo", "", { timeout: 1_000 }).catch(() => null)) !== null;
      if (!back) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(back, "the instance is back on NATS");
    assert.equal((await client.where({ n: 2 }, { timeout: 20_000 })).n, 2);
  });
});
