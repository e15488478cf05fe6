// Graceful shutdown: node.close() lets calls in flight finish, refuses new ones as safe to retry,
// and ends calls that outlast drainTimeout with an error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, RpcError, stream, unary } from "../../src/index.ts";
import { aborted, deferred, rejection, sleep, waitFor, within, withTeardown, type Deferred } from "./support.ts";

const Work = contract("rpc.work", "1.0.0", {
  slow: unary({ input: z.object({ id: z.number(), ms: z.number() }), output: z.number() }),
  ticks: stream({ input: z.object({ count: z.number(), every: z.number() }), output: z.number() }),
  stuck: unary({ input: z.object({}), output: z.null() }),
});

function workHandlers(state: { started: number; finished: number; stuckAbort: Deferred<unknown> }) {
  return {
    slow: async ({ id, ms }: { id: number; ms: number }) => {
      state.started++;
      await sleep(ms); // deliberately deaf to ctx.signal: a drain must wait for it
      state.finished++;
      return id * 10;
    },
    async *ticks({ count, every }: { count: number; every: number }) {
      state.started++;
      for (let i = 0; i < count; i++) {
        yield i;
        await sleep(every);
      }
      state.finished++;
    },
    stuck: async (_: object, ctx: { signal: AbortSignal }) => {
      state.started++;
      const reason = await within(aborted(ctx.signal), 10_000, "the stuck handler is aborted");
      state.stuckAbort.resolve(reason);
      return null;
    },
  };
}

const SAFE_TO_RETRY = "not processed — safe to retry";

test("close() while calls and a stream are in flight: every one completes; new calls are refused as safe to retry", () =>
  withTeardown(async (td) => {
    const state = { started: 0, finished: 0, stuckAbort: deferred<unknown>() };
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0", drainTimeout: 5_000 });
    server.serve(Work, workHandlers(state));
    const peer = await td.connect(server.addresses[0]!);
    const work = peer.client(Work);

    const unaries = [1, 2, 3, 4, 5].map((id) => work.slow({ id, ms: 250 + id * 20 }));
    const streamed: number[] = [];
    const streaming = (async () => {
      for await (const n of work.ticks({ count: 12, every: 25 })) streamed.push(n);
    })();
    await waitFor(() => state.started === 6, 2_000, "all six calls reach their handlers");

    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await sleep(10);
    assert.equal(server.draining, true);

    const refusals = await Promise.all([work.slow({ id: 99, ms: 1 }), work.slow({ id: 98, ms: 1 })].map((call) => rejection(call)));
    await sleep(50);
    refusals.push(await rejection(work.slow({ id: 97, ms: 1 }))); // after the peer has surely heard of the drain
    for (const refused of refusals) {
      assert.equal(refused.code, "UNAVAILABLE");
      assert.equal(refused.unprocessed, true);
      assert.ok(refused.message.includes(SAFE_TO_RETRY), `message: ${refused.message}`);
    }

    assert.deepEqual(await within(Promise.all(unaries), 3_000, "the unary calls in flight"), [10, 20, 30, 40, 50]);
    await within(streaming, 3_000, "the stream in flight");
    assert.deepEqual(streamed, Array.from({ length: 12 }, (_, i) => i), "the stream lost nothing");
    assert.equal(state.finished, 6, "every handler ran to its end");
    assert.equal(state.started, 6, "no refused call reached a handler");
    await within(closing, 3_000, "close() finishes once the calls in flight are done (the caller is still connected)");
    assert.ok(closed);
  }));

test("close() of a node that serves itself: local calls in flight finish, new local calls are refused as safe to retry", () =>
  withTeardown(async (td) => {
    const state = { started: 0, finished: 0, stuckAbort: deferred<unknown>() };
    const node = await td.node({ name: "solo" });
    node.serve(Work, workHandlers(state));
    const work = node.client(Work);
    const inFlight = [1, 2, 3].map((id) => work.slow({ id, ms: 150 }));
    await waitFor(() => state.started === 3, 2_000, "the calls reach their handlers");
    const closing = node.close();
    const refused = await rejection(work.slow({ id: 7, ms: 1 }));
    assert.equal(refused.code, "UNAVAILABLE");
    assert.equal(refused.unprocessed, true);
    assert.ok(refused.message.includes(SAFE_TO_RETRY), `message: ${refused.message}`);
    assert.deepEqual(await within(Promise.all(inFlight), 3_000, "the calls in flight"), [10, 20, 30]);
    await within(closing, 3_000, "close()");
    assert.equal(state.started, 3);
  }));

test("a drain that exceeds drainTimeout ends the stuck calls with an error and aborts their handlers", () =>
  withTeardown(async (td) => {
    const state = { started: 0, finished: 0, stuckAbort: deferred<unknown>() };
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0", drainTimeout: 200 });
    server.serve(Work, workHandlers(state));
    const peer = await td.connect(server.addresses[0]!);
    const work = peer.client(Work);
    const stuck = work.stuck({}, { timeout: 10_000 });
    const quick = work.slow({ id: 4, ms: 50 });
    await waitFor(() => state.started === 2, 2_000, "the calls reach their handlers");

    const start = Date.now();
    const closing = server.close();
    assert.equal(await within(quick, 2_000, "the quick call"), 40, "a call that fits in the drain completes");
    const error = await within(rejection(stuck), 3_000, "the stuck call ends");
    const elapsed = Date.now() - start;
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(error.unprocessed, false, "the handler ran: not safe to retry blindly");
    assert.match(error.message, /drain/);
    assert.ok(elapsed >= 180 && elapsed < 2_000, `the stuck call ended ${elapsed} ms into the drain (drainTimeout 200)`);
    await within(state.stuckAbort.promise, 2_000, "the stuck handler's ctx.signal fires");
    await within(closing, 3_000, "close() finishes after the drain timeout");
  }));
