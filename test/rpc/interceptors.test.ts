// Interceptors: code around every call made and served, per node, per client and per serve, in the
// documented order, for all four method kinds, in process and over TCP. They see and change metadata,
// see the caller, refuse with any code without calling on, answer by themselves, wrap streams item by
// item, and learn how a call ended; Amoeba's own services pass the same server chain.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import {
  bidiStream,
  clientStream,
  contract,
  ReflectionContract,
  RpcError,
  stream,
  unary,
  watchOutcome,
  type CallContext,
  type CallStream,
  type ClientInterceptor,
  type EventInterceptor,
  type ServerInterceptor,
} from "../../src/index.ts";
import { withTeardown, type Teardown } from "./support.ts";

const Echo = contract("rpc.echo", "1.0.0", {
  say: unary({ input: z.object({ text: z.string() }), output: z.object({ text: z.string(), seen: z.record(z.string(), z.string()) }) }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
  sum: clientStream({ input: z.number(), output: z.number() }),
  double: bidiStream({ input: z.number(), output: z.number() }),
});

const handlers = {
  say: ({ text }: { text: string }, ctx: CallContext) => ({ text, seen: pick(ctx.meta, "x-") }),
  async *count({ to }: { to: number }) {
    for (let i = 1; i <= to; i++) yield i;
  },
  async sum(items: AsyncIterable<number>) {
    let total = 0;
    for await (const n of items) total += n;
    return total;
  },
  async *double(items: AsyncIterable<number>) {
    for await (const n of items) yield n * 2;
  },
};

function pick(meta: Readonly<Record<string, string>>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).filter(([key]) => key.startsWith(prefix)));
}

/** A server interceptor that writes its name into the trail and a header the handler echoes. */
function tagging(trail: string[], name: string): ServerInterceptor {
  return (next) => (input, ctx) => {
    trail.push(`server:${name}:${ctx.service}.${ctx.method}:${ctx.kind}`);
    ctx.meta = { ...ctx.meta, [`x-${name}`]: "1" };
    return next(input, ctx);
  };
}

function clientTagging(trail: string[], name: string): ClientInterceptor {
  return (next) => (request) => {
    trail.push(`client:${name}:${request.service}.${request.method}:${request.kind}`);
    request.meta = { ...request.meta, [`x-${name}`]: "1" };
    return next(request);
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A server node with interceptors at both levels, and a caller in process or over TCP. */
async function setup(td: Teardown, where: "in-process" | "tcp", trail: string[]) {
  const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0", interceptors: { server: [tagging(trail, "node")] } });
  server.serve(Echo, handlers, { interceptors: [tagging(trail, "serve")] });
  if (where === "in-process") return { server, caller: server };
  const caller = await td.node({ name: "caller", interceptors: { client: [clientTagging(trail, "callernode")] } });
  await caller.connect(server.addresses[0]!);
  return { server, caller };
}

for (const where of ["in-process", "tcp"] as const) {
  test(`${where}: node and client interceptors wrap calls of all four kinds, outermost first, and metadata they add reaches the handler`, () =>
    withTeardown(async (td) => {
      const trail: string[] = [];
      const { caller } = await setup(td, where, trail);
      const echo = caller.client(Echo, { interceptors: [clientTagging(trail, "client")] });
      const said = await echo.say({ text: "hi" });
      assert.equal(said.text, "hi");
      const clientTags = where === "tcp" ? { "x-callernode": "1", "x-client": "1" } : { "x-client": "1" };
      assert.deepEqual(said.seen, { ...clientTags, "x-node": "1", "x-serve": "1" }, "the handler sees what every interceptor added");
      const expectedOrder = [
        ...(where === "tcp" ? ["client:callernode:rpc.echo.say:unary"] : []),
        "client:client:rpc.echo.say:unary",
        "server:node:rpc.echo.say:unary",
        "server:serve:rpc.echo.say:unary",
      ];
      assert.deepEqual(trail.splice(0), expectedOrder, "node interceptors run before the client's and the serve's own");
      assert.deepEqual(await collect(echo.count({ to: 3 })), [1, 2, 3]);
      assert.equal(await echo.sum([1, 2, 3]), 6);
      assert.deepEqual(await collect(echo.double([1, 2])), [2, 4]);
      const kinds = trail.filter((line) => line.startsWith("server:node")).map((line) => line.split(":").at(-1));
      assert.deepEqual(kinds, ["server-stream", "client-stream", "bidi-stream"], "every kind passes the server chain");
    }));

  test(`${where}: a server interceptor refuses with any code without calling on, and the handler never runs`, () =>
    withTeardown(async (td) => {
      let ran = 0;
      const deny: ServerInterceptor = (next) => (input, ctx) => {
        if (ctx.meta["x-token"] !== "secret") throw new RpcError("PERMISSION_DENIED", `${ctx.service}.${ctx.method}: no entry for ${ctx.caller.name}`);
        return next(input, ctx);
      };
      const server = await td.node({ name: "guarded", listen: "tcp://127.0.0.1:0", interceptors: { server: [deny] } });
      server.serve(Echo, { ...handlers, say: (input, ctx) => (ran++, handlers.say(input, ctx)) });
      const caller = where === "in-process" ? server : await td.node({ name: "stranger" });
      if (where === "tcp") await caller.connect(server.addresses[0]!);
      const echo = caller.client(Echo);
      await assert.rejects(echo.say({ text: "x" }), (error: unknown) => {
        assert.ok(error instanceof RpcError);
        assert.equal(error.code, "PERMISSION_DENIED");
        assert.match(error.message, where === "tcp" ? /no entry for stranger/ : /no entry for guarded/);
        return true;
      });
      assert.equal(ran, 0, "the handler never ran");
      await assert.rejects(collect(echo.count({ to: 2 })), (error: unknown) => error instanceof RpcError && error.code === "PERMISSION_DENIED");
      const said = await echo.say({ text: "ok" }, { meta: { "x-token": "secret" } });
      assert.equal(said.text, "ok");
      assert.equal(ran, 1);
    }));

  test(`${where}: interceptors answer by themselves, wrap stream items, and learn every outcome`, () =>
    withTeardown(async (td) => {
      const outcomes: string[] = [];
      const cache: ServerInterceptor = (next) => (input, ctx) => {
        if (ctx.method === "say" && (input as { text: string }).text === "cached") return { text: "from cache", seen: {} };
        return watchOutcome(next(input, ctx), ctx, (code) => outcomes.push(`${ctx.method}:${code}`));
      };
      const tenfold: ServerInterceptor = (next) => (input, ctx) => {
        if (ctx.method !== "count") return next(input, ctx);
        const inner = next(input, ctx) as AsyncIterable<number>;
        return (async function* () {
          for await (const n of inner) yield n * 10;
        })();
      };
      const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0", interceptors: { server: [cache, tenfold] } });
      server.serve(Echo, { ...handlers, sum: async () => Promise.reject(new RpcError("FAILED_PRECONDITION", "no sums today")) });
      const caller = where === "in-process" ? server : await td.node({ name: "caller" });
      if (where === "tcp") await caller.connect(server.addresses[0]!);
      // The client side wraps items too: +1 on each item it reads.
      const plusOne: ClientInterceptor = (next) => (request) => {
        const outcome = next(request);
        if (outcome instanceof Promise) return outcome;
        const inner = outcome;
        const mapped: CallStream<unknown> = {
          cancel: (reason) => inner.cancel(reason),
          async *[Symbol.asyncIterator]() {
            for await (const item of inner) yield (item as number) + 1;
          },
        };
        return mapped;
      };
      const echo = caller.client(Echo, { interceptors: [plusOne] });
      assert.deepEqual(await echo.say({ text: "cached" }), { text: "from cache", seen: {} });
      assert.deepEqual(await collect(echo.count({ to: 3 })), [11, 21, 31], "server ×10, then client +1, item by item");
      await assert.rejects(echo.sum([1]), (error: unknown) => error instanceof RpcError && error.code === "FAILED_PRECONDITION");
      assert.equal((await echo.say({ text: "fresh" })).text, "fresh");
      assert.deepEqual(outcomes, ["count:OK", "sum:FAILED_PRECONDITION", "say:OK"]);
    }));
}

test("a client interceptor refuses a call without sending it, and sees its deadline and signal", () =>
  withTeardown(async (td) => {
    let served = 0;
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
    server.serve(Echo, { ...handlers, say: (input, ctx) => (served++, handlers.say(input, ctx)) });
    const caller = await td.node({ name: "caller" });
    await caller.connect(server.addresses[0]!);
    const seen: Array<{ deadline: number | undefined; signal: boolean }> = [];
    const budget: ClientInterceptor = (next) => (request) => {
      seen.push({ deadline: request.deadline, signal: request.signal !== undefined });
      if (request.deadline !== undefined && request.deadline - Date.now() < 100) {
        return Promise.reject(new RpcError("DEADLINE_EXCEEDED", "not worth sending with under 100 ms left", { unprocessed: true }));
      }
      return next(request);
    };
    const echo = caller.client(Echo, { interceptors: [budget] });
    const controller = new AbortController();
    const before = Date.now();
    await echo.say({ text: "a" }, { timeout: 5_000, signal: controller.signal });
    await assert.rejects(echo.say({ text: "b" }, { timeout: 50 }), (error: unknown) => error instanceof RpcError && error.code === "DEADLINE_EXCEEDED");
    assert.equal(served, 1, "the refused call never reached the server");
    assert.ok(seen[0]!.deadline! >= before + 5_000 && seen[0]!.deadline! <= Date.now() + 5_000, "the interceptor sees the absolute deadline");
    assert.equal(seen[0]!.signal, true);
  }));

test("Amoeba's own services pass the server chain: an interceptor may refuse reflection to strangers", () =>
  withTeardown(async (td) => {
    const seen: string[] = [];
    const onlyFriends: ServerInterceptor = (next) => (input, ctx) => {
      seen.push(`${ctx.service}.${ctx.method}`);
      if (ctx.service.startsWith("amoeba.") && ctx.caller.name !== "friend") throw new RpcError("PERMISSION_DENIED", "built-in services are for friends");
      return next(input, ctx);
    };
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0", interceptors: { server: [onlyFriends] } });
    server.serve(Echo, handlers);
    const stranger = await td.connect(server.addresses[0]!, { name: "stranger" });
    const friend = await td.connect(server.addresses[0]!, { name: "friend" });
    await assert.rejects(stranger.client(ReflectionContract).describe({}), (error: unknown) => error instanceof RpcError && error.code === "PERMISSION_DENIED");
    const described = await friend.client(ReflectionContract).describe({});
    assert.ok(described.some((service) => service.name === "rpc.echo"));
    assert.deepEqual(seen, ["amoeba.reflect.describe", "amoeba.reflect.describe"]);
  }));

test("interceptors that are not functions are refused where they are given", () =>
  withTeardown(async (td) => {
    await assert.rejects(td.node({ interceptors: { server: [42 as never] } }), /interceptors\.server\[0\] is not an interceptor/);
    await assert.rejects(td.node({ interceptors: { client: "x" as never } }), /interceptors\.client must be an array/);
    const node = await td.node({ name: "n" });
    assert.throws(() => node.serve(Echo, handlers, { interceptors: [null as never] }), /serve\(rpc\.echo\) interceptors\[0\]/);
    assert.throws(() => node.client(Echo, { interceptors: [{} as never] }), /client\(rpc\.echo\) interceptors\[0\]/);
  }));

test("event interceptors see events leaving and arriving, may change their payload, and may drop them", () =>
  withTeardown(async (td) => {
    const seen: string[] = [];
    const audit: EventInterceptor = (next) => (event) => {
      seen.push(`${event.direction}:${event.topic}:${event.from.name}`);
      if (event.topic === "secret") return; // dropped
      if (event.direction === "in") event.payload = { ...(event.payload as object), stamped: true };
      next(event);
    };
    const hub = await td.node({ name: "hub", listen: "tcp://127.0.0.1:0", interceptors: { events: [audit] } });
    hub.serve(Echo, handlers);
    const publisher = await td.node({ name: "publisher", interceptors: { events: [audit] } });
    const peer = await publisher.connect(hub.addresses[0]!);
    const got: unknown[] = [];
    hub.subscribe("news", (payload) => void got.push(payload));
    hub.subscribe("secret", (payload) => void got.push(payload));
    // A call answered means the hub's SUBSCRIBE frames, sent before, reached the publisher.
    await peer.client(Echo).say({ text: "sync" });
    publisher.publish("news", { n: 1 });
    publisher.publish("secret", { n: 2 });
    await peer.client(Echo).say({ text: "sync" });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(got, [{ n: 1, stamped: true }], "the arriving event was stamped; the secret one never left");
    assert.deepEqual(seen, ["out:news:publisher", "out:secret:publisher", "in:news:publisher"]);
  }));

const Slow = contract("rpc.slow", "1.0.0", {
  wait: unary({ input: z.object({ ms: z.number() }), output: z.string() }),
});

test("ctx.onAbort tells a server interceptor of a deadline and a cancellation, at once when it comes late, and nothing of a success", () =>
  withTeardown(async (td) => {
    const heard: string[] = [];
    const listening: ServerInterceptor = (next) => (input, ctx) => {
      const label = ctx.method === "wait" ? `wait ${(input as { ms: number }).ms}` : ctx.method;
      ctx.onAbort((reason) => heard.push(`${label}: ${(reason as RpcError).code}`));
      return next(input, ctx);
    };
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0", interceptors: { server: [listening] } });
    server.serve(Echo, handlers);
    let lateListener: Promise<string> | undefined;
    server.serve(Slow, {
      wait: ({ ms }, ctx) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve("done"), ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            // Added after the abort: called at once, with the same reason.
            lateListener = new Promise((told) => ctx.onAbort((reason) => told((reason as RpcError).code)));
            reject(ctx.signal.reason);
          });
        }),
    });
    const caller = await td.node({ name: "caller" });
    await caller.connect(server.addresses[0]!);
    const slow = caller.client(Slow);
    assert.equal((await caller.client(Echo).say({ text: "hi" })).text, "hi");
    assert.equal(await slow.wait({ ms: 1 }), "done");
    await assert.rejects(slow.wait({ ms: 5_000 }, { timeout: 100 }), (error: unknown) => error instanceof RpcError && error.code === "DEADLINE_EXCEEDED");
    const controller = new AbortController();
    const cancelled = slow.wait({ ms: 6_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(cancelled, (error: unknown) => error instanceof RpcError && error.code === "CANCELLED");
    const deadline = Date.now() + 2_000;
    while (heard.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard, ["wait 5000: DEADLINE_EXCEEDED", "wait 6000: CANCELLED"], "the two aborted calls, once each; neither success");
    assert.equal(await lateListener, "CANCELLED");
  }));
