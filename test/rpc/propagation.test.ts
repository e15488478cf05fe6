// Deadlines, cancellation and trace context travel from a handler's ctx.client() to the calls it makes:
// caller → node A (service "front") → node B (service "back"), over TCP.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, RpcError, unary, type CallContext, type Meta } from "../../src/index.ts";
import { aborted, deferred, rejection, within, withTeardown, type Deferred, type Teardown } from "./support.ts";

const Back = contract("rpc.back", "1.0.0", {
  probe: unary({
    input: z.object({ hold: z.boolean() }),
    output: z.object({ deadline: z.number().nullable(), meta: z.record(z.string(), z.string()) }),
  }),
});

const Front = contract("rpc.front", "1.0.0", {
  relay: unary({
    input: z.object({ hold: z.boolean(), nestedTimeout: z.number().optional() }),
    output: z.object({
      front: z.number().nullable(),
      back: z.object({ deadline: z.number().nullable(), meta: z.record(z.string(), z.string()) }),
    }),
  }),
});

/** What the back service saw of each call. */
interface BackSeen {
  started: Deferred<CallContext>;
  abort: Deferred<unknown>;
}

async function chain(td: Teardown, frontMeta?: Meta) {
  const back: BackSeen = { started: deferred<CallContext>(), abort: deferred<unknown>() };
  const frontAbort = deferred<unknown>();
  const b = await td.node({ name: "node-b", listen: "tcp://127.0.0.1:0" });
  b.serve(Back, {
    probe: async ({ hold }, ctx) => {
      aborted(ctx.signal).then(back.abort.resolve);
      back.started.resolve(ctx);
      if (hold) await within(aborted(ctx.signal), 5_000, "node B's handler is aborted");
      return { deadline: ctx.deadline ?? null, meta: { ...ctx.meta } };
    },
  });
  const a = await td.node({ name: "node-a", listen: "tcp://127.0.0.1:0" });
  a.serve(Front, {
    relay: async ({ hold, nestedTimeout }, ctx) => {
      aborted(ctx.signal).then(frontAbort.resolve);
      const nested = ctx.client(Back, frontMeta ? { meta: frontMeta } : {});
      const result = await nested.probe({ hold }, nestedTimeout === undefined ? {} : { timeout: nestedTimeout });
      return { front: ctx.deadline ?? null, back: result };
    },
  });
  await a.connect(b.addresses[0]!);
  const caller = await td.connect(a.addresses[0]!, { name: "caller" });
  return { front: caller.client(Front), back, frontAbort };
}

test("a nested call through ctx.client() carries the caller's deadline: B's ctx.deadline equals A's", () =>
  withTeardown(async (td) => {
    const { front } = await chain(td);
    const before = Date.now();
    const result = await front.relay({ hold: false }, { timeout: 2_000 });
    assert.ok(result.front !== null && result.back.deadline !== null, "both hops have a deadline");
    assert.ok(result.front >= before + 2_000 - 5 && result.front <= before + 2_000 + 1_000, `A's deadline ${result.front} is the caller's ${before + 2_000}`);
    // Equal up to the time of the hop from A to B (the remaining time travels, rounded up to a ms).
    assert.ok(Math.abs(result.back.deadline - result.front) <= 500, `B's deadline ${result.back.deadline} equals A's ${result.front} within a hop`);

    // A longer timeout on the nested call does not extend the caller's deadline ...
    const later = await front.relay({ hold: false, nestedTimeout: 60_000 }, { timeout: 2_000 });
    assert.ok(Math.abs(later.back.deadline! - later.front!) <= 500, "the inherited deadline wins over a longer nested timeout");
    // ... and a shorter one shortens it.
    const start = Date.now();
    const shorter = await front.relay({ hold: false, nestedTimeout: 300 }, { timeout: 2_000 });
    assert.ok(shorter.back.deadline! >= start + 300 - 5 && shorter.back.deadline! <= start + 300 + 1_000, `a shorter nested timeout applies (${shorter.back.deadline! - start} ms)`);
  }));

test("when the caller's deadline passes, the nested call on B is aborted and the caller gets DEADLINE_EXCEEDED", () =>
  withTeardown(async (td) => {
    const { front, back, frontAbort } = await chain(td);
    const before = Date.now();
    const error = await rejection(front.relay({ hold: true }, { timeout: 200 }));
    const elapsed = Date.now() - before;
    assert.equal(error.code, "DEADLINE_EXCEEDED");
    assert.ok(elapsed >= 190 && elapsed < 2_000, `the caller gave up after ${elapsed} ms`);
    const ctx = await within(back.started.promise, 1_000, "B's handler ran");
    assert.ok(ctx.deadline !== undefined && ctx.deadline >= before + 200 - 5 && ctx.deadline <= before + 200 + 1_000, "B had the caller's deadline");
    const reason = await within(back.abort.promise, 2_000, "B's ctx.signal fires");
    assert.ok(reason instanceof RpcError && (reason.code === "DEADLINE_EXCEEDED" || reason.code === "CANCELLED"), `B's abort reason: ${String(reason)}`);
    await within(frontAbort.promise, 2_000, "A's ctx.signal fires");
  }));

test("cancelling the caller cancels the nested call: B's ctx.signal fires", () =>
  withTeardown(async (td) => {
    const { front, back, frontAbort } = await chain(td);
    const controller = new AbortController();
    const call = front.relay({ hold: true }, { signal: controller.signal, timeout: 10_000 });
    await within(back.started.promise, 2_000, "B's handler starts");
    assert.equal(back.abort.settled, false, "B is not aborted before the caller cancels");
    controller.abort();
    const error = await rejection(call);
    assert.equal(error.code, "CANCELLED");
    await within(frontAbort.promise, 2_000, "A's ctx.signal fires");
    const reason = await within(back.abort.promise, 2_000, "B's ctx.signal fires");
    assert.ok(reason instanceof RpcError && reason.code === "CANCELLED", `B's abort reason: ${String(reason)}`);
  }));

test("traceparent and tracestate travel to nested calls; other request metadata does not", () =>
  withTeardown(async (td) => {
    const { front } = await chain(td, { "x-from-a": "a" });
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const result = await front.relay(
      { hold: false },
      { meta: { traceparent, tracestate: "amoeba=1", "x-private": "caller only" }, timeout: 2_000 },
    );
    assert.equal(result.back.meta.traceparent, traceparent);
    assert.equal(result.back.meta.tracestate, "amoeba=1");
    assert.equal(result.back.meta["x-from-a"], "a", "A's own client meta reaches B");
    assert.equal(result.back.meta["x-private"], undefined, "metadata other than the trace context stays on the first hop");
  }));
