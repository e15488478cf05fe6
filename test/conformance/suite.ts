/**
 * The RPC conformance suite, modelled on gRPC's interop test cases. Every
 * transport runs the same cases through `runConformance`; a transport passes
 * when its callers cannot tell it from any other.
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { z } from "zod";
import { bidiStream, clientStream, contract, RpcError, stream, unary, type Meta } from "../../src/index.ts";
import { requireOrSkip } from "../support/require.ts";
import type { Fixture, FixtureOptions, MakeFixture } from "./fixture.ts";
import { aborted, deferred, isPattern, pattern, rejection, sleep, within } from "./helpers.ts";

const Bytes = z.instanceof(Uint8Array);

// --- contracts ----------------------------------------------------------------

const Empty = contract("conformance.empty", "1.0.0", {
  empty: unary({ input: z.object({}), output: z.object({}) }),
});

const Large = contract("conformance.large", "1.0.0", {
  large: unary({
    input: z.object({ payload: Bytes, responseSize: z.number().int().min(0) }),
    output: z.object({ payload: Bytes, received: z.number() }),
  }),
});

const Streams = contract("conformance.streams", "1.0.0", {
  sizes: stream({ input: z.object({ sizes: z.array(z.number().int().min(0)) }), output: z.object({ index: z.number(), payload: Bytes }) }),
  aggregate: clientStream({ input: z.object({ payload: Bytes }), output: z.object({ total: z.number(), count: z.number() }) }),
  sum: clientStream({ input: z.number(), output: z.number() }),
  echo: bidiStream({ input: z.object({ n: z.number(), payload: Bytes }), output: z.object({ n: z.number(), payload: Bytes }) }),
});

const Metadata = contract("conformance.metadata", "1.0.0", {
  unary: unary({ input: z.object({}), output: z.record(z.string(), z.string()) }),
  stream: stream({ input: z.object({ items: z.number().int().min(0) }), output: z.number() }),
});

const Failing = contract("conformance.failing", "1.0.0", {
  status: unary({ input: z.object({ code: z.string(), message: z.string(), details: z.unknown() }), output: z.null() }),
  crash: unary({ input: z.object({ marker: z.string() }), output: z.null() }),
  streamThenFail: stream({ input: z.object({ before: z.number().int().min(0) }), output: z.number() }),
});

const Partial = contract("conformance.partial", "1.0.0", {
  here: unary({ input: z.object({}), output: z.string() }),
});
const PartialAsCalled = contract("conformance.partial", "1.0.0", {
  here: unary({ input: z.object({}), output: z.string() }),
  missing: unary({ input: z.object({}), output: z.string() }),
});
const Nowhere = contract("conformance.nowhere", "1.0.0", {
  anything: unary({ input: z.object({}), output: z.string() }),
});

const Slow = contract("conformance.slow", "1.0.0", {
  wait: unary({ input: z.object({ ms: z.number() }), output: z.string() }),
  waitInput: clientStream({ input: z.number(), output: z.number() }),
  forever: stream({ input: z.object({}), output: z.number() }),
  pingPong: bidiStream({ input: z.number(), output: z.number() }),
});

const Strict = contract("conformance.strict", "1.0.0", {
  person: unary({ input: z.object({ name: z.string().min(1), age: z.number().int() }), output: z.string() }),
  total: clientStream({ input: z.number(), output: z.number() }),
});

const Flow = contract("conformance.flow", "1.0.0", {
  fast: stream({ input: z.object({ limit: z.number().int() }), output: z.number() }),
  slowSink: clientStream({ input: z.number(), output: z.number() }),
});

const Many = contract("conformance.many", "1.0.0", {
  double: unary({ input: z.number(), output: z.number() }),
});

// --- the suite ------------------------------------------------------------------

/** What a conformance run may need that a machine can lack, e.g. the openssl CLI. */
export interface ConformanceOptions {
  /** Why the transport cannot run here; undefined when it can. */
  missing?: string;
}

/** Runs every conformance case against the transport `makeFixture` builds. */
export function runConformance(name: string, makeFixture: MakeFixture, options: ConformanceOptions = {}): void {
  /** Runs `body` with a fresh fixture, closed afterwards whatever happens. */
  async function withFixture(t: TestContext, fixtureOptions: FixtureOptions, body: (fx: Fixture) => Promise<void>): Promise<void> {
    if (!requireOrSkip(t, options.missing === undefined, options.missing ?? "")) return;
    const fx = await makeFixture(fixtureOptions);
    try {
      await body(fx);
    } finally {
      await within(fx.close(), 5_000, "closing the fixture");
    }
  }

  describe(`conformance: ${name}`, () => {
    test("events: what each side publishes reaches the other side's subscribers once each, in order; other topics get nothing", (t) =>
      withFixture(t, {}, async (fx) => {
        for (const [from, to] of [
          [fx.events.caller, fx.events.server],
          [fx.events.server, fx.events.caller],
        ] as const) {
          const got: unknown[] = [];
          const elsewhere: unknown[] = [];
          const stop = to.subscribe("conformance.news", (payload) => void got.push(payload));
          const stopOther = to.subscribe("conformance.other", (payload) => void elsewhere.push(payload));
          // The subscription reaches the publisher by the connection or the look-up; probes tell when it has.
          const until = Date.now() + 10_000;
          while (!got.some((p) => (p as { probe?: boolean }).probe) && Date.now() < until) {
            from.publish("conformance.news", { probe: true });
            await sleep(50);
          }
          for (let i = 0; i < 5; i++) from.publish("conformance.news", { i });
          await within(
            (async () => {
              while (got.filter((p) => !(p as { probe?: boolean }).probe).length < 5) await sleep(10);
            })(),
            5_000,
            "the five events",
          );
          await sleep(100);
          assert.deepEqual(got.filter((p) => !(p as { probe?: boolean }).probe), [0, 1, 2, 3, 4].map((i) => ({ i })));
          assert.deepEqual(elsewhere, []);
          stop();
          stopOther();
          if (fx.events.caller === fx.events.server) break;
        }
      }));

    test("empty unary: {} in, {} out", (t) =>
      withFixture(t, {}, async (fx) => {
        let seen: unknown;
        await fx.serve(Empty, {
          empty: (input) => {
            seen = input;
            return {};
          },
        });
        const result = await fx.client(Empty).empty({});
        assert.deepEqual(result, {});
        assert.deepEqual(seen, {});
      }));

    test("large unary: ~270 KB in, ~310 KB out, byte for byte", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Large, {
          large: ({ payload, responseSize }) => ({
            received: isPattern(payload, 271_828, 1) ? payload.length : -1,
            payload: pattern(responseSize, 2),
          }),
        });
        const result = await fx.client(Large).large({ payload: pattern(271_828, 1), responseSize: 314_159 });
        assert.equal(result.received, 271_828, "the server got the request payload intact");
        assert.ok(isPattern(result.payload, 314_159, 2), "the response payload arrives intact");
      }));

    test("many concurrent unary calls on one connection each get their own answer", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Many, {
          double: async (n) => {
            await sleep(n % 7);
            return n * 2;
          },
        });
        const many = fx.client(Many);
        const inputs = Array.from({ length: 200 }, (_, i) => i);
        const results = await Promise.all(inputs.map((n) => many.double(n)));
        assert.deepEqual(results, inputs.map((n) => n * 2));
      }));

    test("server streaming: items of mixed sizes arrive whole and in order", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Streams, { ...streamHandlers });
        const sizes = [31_415, 9, 2_653, 58_979, 0, 100_000];
        const got: Array<{ index: number; ok: boolean }> = [];
        for await (const item of fx.client(Streams).sizes({ sizes })) {
          got.push({ index: item.index, ok: isPattern(item.payload, sizes[item.index]!, item.index) });
        }
        assert.deepEqual(got, sizes.map((_, index) => ({ index, ok: true })));
      }));

    test("empty stream: a server stream and a bidi stream with nothing in them end cleanly", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Streams, { ...streamHandlers });
        const streams = fx.client(Streams);
        const fromServer: unknown[] = [];
        for await (const item of streams.sizes({ sizes: [] })) fromServer.push(item);
        assert.deepEqual(fromServer, []);
        const fromBidi: unknown[] = [];
        for await (const item of streams.echo([])) fromBidi.push(item);
        assert.deepEqual(fromBidi, []);
        assert.equal(await streams.sum([]), 0, "client streaming with no items");
      }));

    test("client streaming: the server sums what the client sent", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Streams, { ...streamHandlers });
        const streams = fx.client(Streams);
        const sizes = [27_182, 8, 1_828, 45_904];
        async function* payloads() {
          for (const [i, size] of sizes.entries()) yield { payload: pattern(size, i) };
        }
        assert.deepEqual(await streams.aggregate(payloads()), { total: 74_922, count: 4 });
        const numbers = Array.from({ length: 500 }, (_, i) => i + 1);
        assert.equal(await streams.sum(numbers), 125_250, "more items than one stream window, from a plain array");
      }));

    test("bidi streaming: ping-pong echo, each answer before the next request", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Streams, { ...streamHandlers });
        const sizes = [27_182, 8, 1_828, 45_904];
        let answered = -1;
        let turn = deferred();
        let outOfTurn = false;
        async function* requests() {
          for (const [n, size] of sizes.entries()) {
            if (answered !== n - 1) outOfTurn = true;
            yield { n, payload: pattern(size, n) };
            await within(turn.promise, 5_000, `the answer to ping ${n}`);
            turn = deferred();
          }
        }
        const got: boolean[] = [];
        for await (const reply of fx.client(Streams).echo(requests())) {
          got.push(reply.n === answered + 1 && isPattern(reply.payload, sizes[reply.n]!, reply.n));
          answered = reply.n;
          turn.resolve();
        }
        assert.deepEqual(got, [true, true, true, true]);
        assert.equal(outOfTurn, false);
      }));

    test("custom metadata: request meta reaches ctx.meta; ctx.responseMeta comes back through onMeta", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Metadata, {
          unary: (_input, ctx) => {
            ctx.responseMeta["x-echo-initial"] = ctx.meta["x-initial"] ?? "absent";
            ctx.responseMeta["x-echo-trailing"] = ctx.meta["x-trailing"] ?? "absent";
            return { ...ctx.meta };
          },
          async *stream({ items }, ctx) {
            for (let i = 0; i < items; i++) yield i;
            ctx.responseMeta["x-echo"] = ctx.meta["x-initial"] ?? "absent";
          },
        });
        const client = fx.client(Metadata, { meta: { "x-from-client": "always" } });
        const unicode = "ünïcødé ✓ value";
        let unaryMeta: Meta | undefined;
        const seen = await client.unary({}, { meta: { "x-initial": "test_initial_metadata_value", "x-trailing": unicode }, onMeta: (m) => (unaryMeta = m) });
        assert.equal(seen["x-initial"], "test_initial_metadata_value");
        assert.equal(seen["x-trailing"], unicode);
        assert.equal(seen["x-from-client"], "always", "the client's own meta joins each call's");
        assert.deepEqual(unaryMeta, { "x-echo-initial": "test_initial_metadata_value", "x-echo-trailing": unicode });

        let streamMeta: Meta | undefined;
        const items: number[] = [];
        for await (const n of client.stream({ items: 3 }, { meta: { "x-initial": "streamed" }, onMeta: (m) => (streamMeta = m) })) items.push(n);
        assert.deepEqual(items, [0, 1, 2]);
        assert.deepEqual(streamMeta, { "x-echo": "streamed" }, "response meta set at the end of a stream arrives with its end");
      }));

    test("status code and message round trip: code, message and details arrive as thrown", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Failing, { ...failingHandlers });
        const failing = fx.client(Failing);
        const message = "test status message: ünïcødé ✓\t\r\n and more";
        for (const code of ["UNKNOWN", "FAILED_PRECONDITION", "PERMISSION_DENIED", "ALREADY_EXISTS", "OUT_OF_RANGE"] as const) {
          const details = { reason: `because ${code}`, fields: ["a", "b"], n: 2 };
          const error = await rejection(failing.status({ code, message, details }));
          assert.ok(error instanceof RpcError, "an RpcError");
          assert.equal(error.code, code);
          assert.equal(error.message, message);
          assert.deepEqual(error.details, details);
          assert.equal(error.service, "conformance.failing");
          assert.equal(error.method, "status");
          assert.equal(error.node, expectedServerName(fx));
          assert.equal(error.unprocessed, false);
        }
      }));

    test("a stream that fails after some items: the items, then the error", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Failing, { ...failingHandlers });
        const items: number[] = [];
        const error = await rejection(
          (async () => {
            for await (const n of fx.client(Failing).streamThenFail({ before: 3 })) items.push(n);
          })(),
        );
        assert.deepEqual(items, [0, 1, 2]);
        assert.equal(error.code, "ABORTED");
        assert.equal(error.message, "stopped after 3");
      }));

    test("unimplemented method: UNIMPLEMENTED, unprocessed", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Partial, { here: () => "here" });
        const client = fx.client(PartialAsCalled);
        assert.equal(await client.here({}), "here");
        const error = await rejection(client.missing({}));
        assert.equal(error.code, "UNIMPLEMENTED");
        assert.equal(error.unprocessed, true);
        assert.match(error.message, /missing/);
        assert.equal(error.method, "missing");
      }));

    test("unknown service: NOT_FOUND from a dialed peer (UNAVAILABLE when placed by look-up), unprocessed", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Partial, { here: () => "here" });
        const error = await rejection(fx.client(Nowhere).anything({}));
        assert.equal(error.code, fx.routed ? "UNAVAILABLE" : "NOT_FOUND");
        assert.equal(error.unprocessed, true);
        assert.match(error.message, /conformance\.nowhere/);
        assert.equal(error.service, "conformance.nowhere");
      }));

    test("cancel after begin (unary): the caller gets CANCELLED and the handler's ctx.signal fires", (t) =>
      withFixture(t, {}, async (fx) => {
        const started = deferred();
        const serverAbort = deferred<unknown>();
        await fx.serve(Slow, {
          ...slowHandlers,
          wait: async (_input, ctx) => {
            aborted(ctx.signal).then(serverAbort.resolve);
            started.resolve();
            await within(aborted(ctx.signal), 5_000, "the handler's signal");
            return "finished anyway";
          },
        });
        const controller = new AbortController();
        const call = fx.client(Slow).wait({ ms: 5_000 }, { signal: controller.signal });
        await within(started.promise, 2_000, "the handler starts");
        controller.abort();
        const error = await rejection(call);
        assert.equal(error.code, "CANCELLED");
        const reason = await within(serverAbort.promise, 2_000, "the server sees the cancellation");
        assert.ok(reason instanceof RpcError && reason.code === "CANCELLED", `the handler's abort reason is CANCELLED, got ${String(reason)}`);
      }));

    test("cancel after begin (client streaming, nothing sent): CANCELLED, and the server sees it", (t) =>
      withFixture(t, {}, async (fx) => {
        const started = deferred();
        const serverAbort = deferred<unknown>();
        await fx.serve(Slow, {
          ...slowHandlers,
          waitInput: async (input, ctx) => {
            aborted(ctx.signal).then(serverAbort.resolve);
            started.resolve();
            let n = 0;
            for await (const _ of input) n++;
            return n;
          },
        });
        const controller = new AbortController();
        const never = deferred();
        async function* nothing(): AsyncGenerator<number> {
          await within(never.promise, 5_000, "never");
        }
        const call = fx.client(Slow).waitInput(nothing(), { signal: controller.signal });
        await within(started.promise, 2_000, "the handler starts");
        controller.abort();
        const error = await rejection(call);
        assert.equal(error.code, "CANCELLED");
        await within(serverAbort.promise, 2_000, "the server sees the cancellation");
        never.resolve();
      }));

    test("cancel after first response: leaving for-await stops the server's generator", (t) =>
      withFixture(t, {}, async (fx) => {
        let produced = 0;
        const stopped = deferred();
        const serverAbort = deferred<unknown>();
        await fx.serve(Slow, {
          ...slowHandlers,
          async *forever(_input, ctx) {
            aborted(ctx.signal).then(serverAbort.resolve);
            try {
              for (let i = 0; i < 100_000; i++) {
                produced++;
                yield i;
                await sleep(1);
              }
            } finally {
              stopped.resolve();
            }
          },
        });
        const got: number[] = [];
        for await (const n of fx.client(Slow).forever({})) {
          got.push(n);
          break;
        }
        assert.deepEqual(got, [0]);
        await within(serverAbort.promise, 2_000, "the handler's signal fires");
        await within(stopped.promise, 2_000, "the server's generator stops (its finally runs)");
        const atStop = produced;
        await sleep(30);
        assert.equal(produced, atStop, "nothing is produced after the stop");
        assert.ok(produced < 100_000);
      }));

    test("cancel after first response (bidi): cancel() ends the call with CANCELLED, the server sees it", (t) =>
      withFixture(t, {}, async (fx) => {
        const serverAbort = deferred<unknown>();
        const stopped = deferred();
        await fx.serve(Slow, {
          ...slowHandlers,
          async *pingPong(input, ctx) {
            aborted(ctx.signal).then(serverAbort.resolve);
            try {
              for await (const n of input) yield n;
            } finally {
              stopped.resolve();
            }
          },
        });
        const stop = deferred();
        async function* pings() {
          yield 1;
          await within(stop.promise, 5_000, "the test ends the pings");
        }
        const call = fx.client(Slow).pingPong(pings());
        const iterator = call[Symbol.asyncIterator]();
        const first = await iterator.next();
        assert.deepEqual(first, { value: 1, done: false });
        call.cancel();
        const error = await rejection(iterator.next());
        assert.equal(error.code, "CANCELLED");
        await within(serverAbort.promise, 2_000, "the handler's signal fires");
        await within(stopped.promise, 2_000, "the handler stops");
        stop.resolve();
      }));

    test("timeout on a sleeping server (1 ms): DEADLINE_EXCEEDED, and a handler that started is aborted", (t) =>
      withFixture(t, {}, async (fx) => {
        let started = false;
        const serverAbort = deferred<unknown>();
        await fx.serve(Slow, {
          ...slowHandlers,
          wait: async (_input, ctx) => {
            started = true;
            const reason = await within(aborted(ctx.signal), 5_000, "the handler's signal");
            serverAbort.resolve(reason);
            return "too late";
          },
        });
        const error = await rejection(fx.client(Slow).wait({ ms: 10_000 }, { timeout: 1 }));
        assert.equal(error.code, "DEADLINE_EXCEEDED");
        // With 1 ms the call may expire before it is even sent; when the handler did run, it must be stopped.
        if (started) await within(serverAbort.promise, 2_000, "the handler's signal fires");
      }));

    test("timeout on a sleeping server (50 ms): DEADLINE_EXCEEDED on both sides, the handler's signal fires", (t) =>
      withFixture(t, {}, async (fx) => {
        const serverAbort = deferred<unknown>();
        let deadline: number | undefined;
        await fx.serve(Slow, {
          ...slowHandlers,
          wait: async (_input, ctx) => {
            deadline = ctx.deadline;
            const reason = await within(aborted(ctx.signal), 5_000, "the handler's signal");
            serverAbort.resolve(reason);
            return "too late";
          },
        });
        const before = Date.now();
        const error = await rejection(fx.client(Slow).wait({ ms: 10_000 }, { timeout: 50 }));
        const elapsed = Date.now() - before;
        assert.equal(error.code, "DEADLINE_EXCEEDED");
        assert.ok(elapsed >= 45 && elapsed < 2_000, `gave up after ${elapsed} ms`);
        assert.ok(
          deadline !== undefined && deadline >= before + 50 - 5 && deadline <= before + 50 + 150,
          `the handler's deadline ${deadline} is the caller's ${before + 50}, plus the time to get there`,
        );
        const reason = await within(serverAbort.promise, 2_000, "the handler's signal fires");
        assert.ok(reason instanceof RpcError && (reason.code === "DEADLINE_EXCEEDED" || reason.code === "CANCELLED"), `abort reason ${String(reason)}`);
      }));

    test("INVALID_ARGUMENT: schema issues in details; the handler never runs", (t) =>
      withFixture(t, {}, async (fx) => {
        let ran = 0;
        await fx.serve(Strict, {
          person: ({ name }) => {
            ran++;
            return name;
          },
          total: async (input) => {
            let sum = 0;
            for await (const n of input) sum += n;
            return sum;
          },
        });
        const strict = fx.client(Strict);
        assert.equal(await strict.person({ name: "Ada", age: 36 }), "Ada");
        ran = 0;
        const bad = { name: "", age: 1.5 } as { name: string; age: number };
        const error = await rejection(strict.person(bad));
        assert.equal(error.code, "INVALID_ARGUMENT");
        const issues = (error.details as { issues?: Array<{ path: string; message: string }> } | undefined)?.issues;
        assert.ok(Array.isArray(issues), "details.issues is a list");
        assert.deepEqual(issues.map((issue) => issue.path).sort(), ["age", "name"]);
        assert.ok(issues.every((issue) => typeof issue.message === "string" && issue.message.length > 0));
        assert.equal(ran, 0, "the handler did not run");

        const itemError = await rejection(strict.total([1, 2, "three" as unknown as number]));
        assert.equal(itemError.code, "INVALID_ARGUMENT");
        assert.ok(Array.isArray((itemError.details as { issues?: unknown } | undefined)?.issues));
      }));

    test("INVALID_ARGUMENT for a unary input is unprocessed: it was refused before any handler ran", (t) =>
      withFixture(t, {}, async (fx) => {
        let ran = 0;
        await fx.serve(Strict, {
          person: ({ name }) => {
            ran++;
            return name;
          },
          total: async () => 0,
        });
        const error = await rejection(fx.client(Strict).person({ name: 42 } as unknown as { name: string; age: number }));
        assert.equal(error.code, "INVALID_ARGUMENT");
        assert.equal(ran, 0);
        // RpcErrorOptions.unprocessed: "true when it is certain that no handler ran: the call was refused before dispatch".
        assert.equal(error.unprocessed, true, "input refused before dispatch is marked unprocessed");
      }));

    test("a non-RpcError thrown: INTERNAL, and no stack crosses the wire", (t) =>
      withFixture(t, {}, async (fx) => {
        await fx.serve(Failing, { ...failingHandlers });
        const error = await rejection(fx.client(Failing).crash({ marker: "kaboom-7f3" }));
        assert.equal(error.code, "INTERNAL");
        assert.equal(error.remoteStack, undefined);
        assert.doesNotMatch(error.message, /\n\s+at /, "the message holds no stack frames");
        assert.doesNotMatch(error.message, /crashingHandler/);
        assert.equal(error.service, "conformance.failing");
        assert.equal(error.method, "crash");
        assert.equal(error.node, expectedServerName(fx));
      }));

    test("a non-RpcError thrown in dev mode: INTERNAL with the handler's stack in remoteStack", (t) =>
      withFixture(t, { dev: true }, async (fx) => {
        await fx.serve(Failing, { ...failingHandlers });
        const error = await rejection(fx.client(Failing).crash({ marker: "kaboom-9c1" }));
        assert.equal(error.code, "INTERNAL");
        assert.equal(typeof error.remoteStack, "string");
        assert.match(error.remoteStack!, /kaboom-9c1/);
        assert.match(error.remoteStack!, /crashingHandler/, "the stack names the handler that threw");
      }));

    test("backpressure: a fast server stream stays within about a window of a slow reader", (t) =>
      withFixture(t, { limits: { streamWindow: 16 } }, async (fx) => {
        const window = 16;
        let produced = 0;
        const stopped = deferred();
        await fx.serve(Flow, {
          ...flowHandlers,
          async *fast({ limit }) {
            try {
              for (let i = 0; i < limit; i++) {
                produced++;
                yield i;
              }
            } finally {
              stopped.resolve();
            }
          },
        });
        let consumed = 0;
        let maxAhead = 0;
        for await (const n of fx.client(Flow).fast({ limit: 100_000 })) {
          assert.equal(n, consumed, "in order");
          consumed++;
          maxAhead = Math.max(maxAhead, produced - consumed);
          if (consumed % 10 === 0) await sleep(5);
          if (consumed === 120) break;
        }
        assert.ok(maxAhead <= window + 2, `the generator ran ${maxAhead} items ahead of the reader (window ${window})`);
        assert.ok(maxAhead >= window / 2, `the stream is pipelined (ran ${maxAhead} ahead)`);
        await within(stopped.promise, 2_000, "the generator stops after the reader left");
        assert.ok(produced <= consumed + window + 2, `produced ${produced} for ${consumed} read`);
      }));

    test("backpressure: a fast client stream stays within about a window of a slow server", (t) =>
      withFixture(t, { limits: { streamWindow: 16 } }, async (fx) => {
        const window = 16;
        let produced = 0;
        let consumed = 0;
        let maxAhead = 0;
        await fx.serve(Flow, {
          ...flowHandlers,
          slowSink: async (input) => {
            for await (const n of input) {
              if (n !== consumed) throw new Error(`out of order: ${n} after ${consumed}`);
              consumed++;
              maxAhead = Math.max(maxAhead, produced - consumed);
              if (consumed % 10 === 0) await sleep(5);
            }
            return consumed;
          },
        });
        async function* fast() {
          for (let i = 0; i < 200; i++) {
            produced++;
            yield i;
          }
        }
        assert.equal(await fx.client(Flow).slowSink(fast()), 200);
        assert.ok(maxAhead <= window + 2, `the client ran ${maxAhead} items ahead of the server (window ${window})`);
        assert.ok(maxAhead >= window / 2, `the stream is pipelined (ran ${maxAhead} ahead)`);
      }));
  });
}

// --- handlers -------------------------------------------------------------------

const streamHandlers = {
  async *sizes({ sizes }: { sizes: number[] }) {
    for (const [index, size] of sizes.entries()) yield { index, payload: pattern(size, index) };
  },
  aggregate: async (input: AsyncIterable<{ payload: Uint8Array<ArrayBuffer> }>) => {
    let total = 0;
    let count = 0;
    for await (const { payload } of input) {
      if (!isPattern(payload, payload.length, count)) throw new Error(`payload ${count} arrived damaged`);
      total += payload.length;
      count++;
    }
    return { total, count };
  },
  sum: async (input: AsyncIterable<number>) => {
    let sum = 0;
    for await (const n of input) sum += n;
    return sum;
  },
  async *echo(input: AsyncIterable<{ n: number; payload: Uint8Array<ArrayBuffer> }>) {
    for await (const item of input) yield item;
  },
};

const failingHandlers = {
  status: ({ code, message, details }: { code: string; message: string; details: unknown }): null => {
    throw new RpcError(code as RpcError["code"], message, { details });
  },
  crash: function crashingHandler({ marker }: { marker: string }): null {
    throw new TypeError(marker);
  },
  async *streamThenFail({ before }: { before: number }) {
    for (let i = 0; i < before; i++) yield i;
    throw new RpcError("ABORTED", `stopped after ${before}`);
  },
};

const slowHandlers = {
  wait: async ({ ms }: { ms: number }, ctx: { signal: AbortSignal }) => {
    await sleep(ms, undefined, { signal: ctx.signal });
    return "waited";
  },
  waitInput: async (input: AsyncIterable<number>) => {
    let n = 0;
    for await (const _ of input) n++;
    return n;
  },
  async *forever() {
    for (let i = 0; i < 1_000; i++) {
      yield i;
      await sleep(1);
    }
  },
  async *pingPong(input: AsyncIterable<number>) {
    for await (const n of input) yield n;
  },
};

const flowHandlers = {
  async *fast({ limit }: { limit: number }) {
    for (let i = 0; i < limit; i++) yield i;
  },
  slowSink: async (input: AsyncIterable<number>) => {
    let n = 0;
    for await (const _ of input) n++;
    return n;
  },
};

// --- assertions -----------------------------------------------------------------

/** Every fixture names its serving node "server" (the in-process one has just that node). */
function expectedServerName(_fx: Fixture): string {
  return "server";
}
