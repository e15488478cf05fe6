// Load shedding at the callee: a node's `concurrency` and a served contract's
// `serve(…, { concurrency })` refuse the calls past them at once with
// RESOURCE_EXHAUSTED (unprocessed), over sockets and in process alike, and the
// count of calls in flight never leaks, however a call ends.
import { nodeInternals } from "../../src/node/node.ts";
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { bidiStream, contract, startNode, stream, unary, type CallContext, type Node, type RpcError } from "../../src/index.ts";
import { aborted, deferred, recordingLogger, rejection, sleep, waitFor, within, withTeardown, type Deferred } from "./support.ts";

const Shed = contract("rpc.shed", "1.0.0", {
  hold: unary({ input: z.object({ id: z.number() }), output: z.number() }),
  fail: unary({ input: z.object({}), output: z.null() }),
  quick: unary({ input: z.object({ ms: z.number() }), output: z.null() }),
  ticks: stream({ input: z.object({ count: z.number() }), output: z.number() }),
  echo: bidiStream({ input: z.number(), output: z.number() }),
});

const Other = contract("rpc.other", "1.0.0", {
  hold: unary({ input: z.object({ id: z.number() }), output: z.number() }),
});

const TRY_ELSEWHERE = "not processed — try another instance";
const LONG = 10_000; // generous bound on anything that should happen soon

/** The handlers' side: what started, what runs now, and the promise that lets held calls go. */
class Backend {
  gate: Deferred<void> = deferred<void>();
  started = 0;
  running = 0;
  maxRunning = 0;
  abortedHandlers = 0;

  /** Lets every held call finish, and holds the next ones again. */
  open(): void {
    this.gate.resolve();
    this.gate = deferred<void>();
  }

  enter(): void {
    this.started++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
  }

  /** Waits until the gate opens or the call's signal fires. */
  async wait(ctx: CallContext): Promise<void> {
    const outcome = await Promise.race([this.gate.promise.then(() => "open"), aborted(ctx.signal).then(() => "aborted")]);
    if (outcome === "aborted") this.abortedHandlers++;
  }

  handlers() {
    const backend = this;
    return {
      async hold({ id }: { id: number }, ctx: CallContext) {
        backend.enter();
        try {
          await backend.wait(ctx);
          return id;
        } finally {
          backend.running--;
        }
      },
      fail(): null {
        backend.started++;
        throw new Error("the handler failed");
      },
      async quick({ ms }: { ms: number }) {
        backend.enter();
        await sleep(ms);
        backend.running--;
        return null;
      },
      async *ticks({ count }: { count: number }, ctx: CallContext) {
        backend.enter();
        try {
          yield 0;
          await backend.wait(ctx);
          for (let i = 1; i < count; i++) yield i;
        } finally {
          backend.running--;
        }
      },
      async *echo(input: AsyncIterable<number>) {
        for await (const n of input) yield n;
      },
    };
  }

  other() {
    const hold = this.handlers().hold;
    return { hold };
  }
}

/** Promises that never reject unhandled; `refused` collects the rejections as they come. */
function track<T>(calls: Array<Promise<T>>): { refused: RpcError[]; done: Promise<Array<{ ok: true; value: T } | { ok: false; error: RpcError }>> } {
  const refused: RpcError[] = [];
  const done = Promise.all(
    calls.map((call) =>
      call.then(
        (value) => ({ ok: true as const, value }),
        (error: RpcError) => {
          refused.push(error);
          return { ok: false as const, error };
        },
      ),
    ),
  );
  return { refused, done };
}

function assertShed(error: RpcError, limit: number, node: string, what: string): void {
  assert.equal(error.code, "RESOURCE_EXHAUSTED", `${what}: ${error.message}`);
  assert.equal(error.unprocessed, true, `${what}: unprocessed`);
  assert.equal(error.node, node, `${what}: node`);
  assert.equal(error.service, "rpc.shed", `${what}: service`);
  assert.ok(error.message.includes(`limit of ${limit} calls`), `${what}: message says the limit: ${error.message}`);
  assert.ok(error.message.includes(TRY_ELSEWHERE), `${what}: message says not processed: ${error.message}`);
}

async function settled(node: Node, what: string): Promise<void> {
  await waitFor(() => node.admission.inFlight === 0, LONG, `${what}: the node's in-flight count returns to 0`);
}

for (const where of ["tcp", "in-process"] as const) {
  test(`${where}: with concurrency 4, of 20 calls at once exactly 4 run and 16 are refused at once; then calls are admitted again`, () =>
    withTeardown(async (td) => {
      const backend = new Backend();
      const server = await td.node({ name: "server", concurrency: 4, ...(where === "tcp" ? { listen: "tcp://127.0.0.1:0" } : {}) });
      server.serve(Shed, backend.handlers());
      const shed = where === "tcp" ? (await td.connect(server.addresses[0]!)).client(Shed) : server.client(Shed);

      const first = track(Array.from({ length: 20 }, (_, id) => shed.hold({ id })));
      await waitFor(() => first.refused.length === 16, LONG, "16 refusals arrive while 4 calls are held");
      await waitFor(() => backend.started === 4, LONG, "4 calls reach the handler");
      assert.equal(backend.gate.settled, false, "the held calls have not finished");
      for (const error of first.refused) assertShed(error, 4, "server", "a refusal");
      assert.equal(first.refused[0]!.method, "hold");
      assert.deepEqual(first.refused[0]!.details, { limit: 4, scope: "node" });
      assert.equal(backend.running, 4);
      assert.equal(server.admission.inFlight, 4);
      assert.equal(server.admission.limit, 4);
      assert.equal(server.admission.shed, 16);
      assert.deepEqual(server.admission.services["rpc.shed@1.0.0"], { service: "rpc.shed", version: "1.0.0", inFlight: 4, limit: Infinity, shed: 16 });

      backend.open();
      const outcomes = await within(first.done, LONG, "the held calls finish");
      assert.equal(outcomes.filter((o) => o.ok).length, 4);
      assert.equal(backend.started, 4, "no refused call reached the handler");
      await settled(server, "after the first round");

      // Admitted again: 4 more run, a 5th is refused, and all is well once they are let go.
      const second = track(Array.from({ length: 4 }, (_, id) => shed.hold({ id: 100 + id })));
      await waitFor(() => backend.started === 8, LONG, "4 new calls reach the handler");
      assertShed(await rejection(shed.hold({ id: 999 })), 4, "server", "the fifth");
      backend.open();
      assert.deepEqual(
        (await within(second.done, LONG, "the second round")).map((o) => (o.ok ? o.value : o.error.code)),
        [100, 101, 102, 103],
      );
      await settled(server, "after the second round");
      assert.equal(server.admission.shed, 17);
      assert.equal(backend.maxRunning, 4);
    }));
}

test("the count never leaks: handler errors, invalid input, caller cancellation and deadlines all release their slot", () =>
  withTeardown(async (td) => {
    const backend = new Backend();
    const server = await td.node({ name: "server", concurrency: 4, listen: "tcp://127.0.0.1:0" });
    server.serve(Shed, backend.handlers());
    const shed = (await td.connect(server.addresses[0]!)).client(Shed);
    const local = server.client(Shed);

    for (const client of [shed, local]) {
      // Errors, many times the limit: a leak would refuse the later ones.
      for (let round = 0; round < 5; round++) {
        const errors = await Promise.all(Array.from({ length: 4 }, () => rejection(client.fail({}))));
        for (const error of errors) assert.equal(error.code, "INTERNAL");
        const invalid = await rejection(client.hold({ id: "x" } as unknown as { id: number }));
        assert.equal(invalid.code, "INVALID_ARGUMENT");
      }
      await settled(server, "after errors");

      // The caller aborts.
      const controller = new AbortController();
      const started = backend.started;
      const cancelled = track(Array.from({ length: 4 }, (_, id) => client.hold({ id }, { signal: controller.signal })));
      await waitFor(() => backend.started === started + 4, LONG, "4 calls reach the handler");
      controller.abort();
      for (const outcome of await within(cancelled.done, LONG, "the cancelled calls settle")) {
        assert.equal(outcome.ok ? "ok" : outcome.error.code, "CANCELLED");
      }
      await settled(server, "after cancellation");

      // Cancelled before it is made.
      assert.equal((await rejection(client.hold({ id: 0 }, { signal: AbortSignal.abort() }))).code, "CANCELLED");
      await settled(server, "after an early cancellation");

      // The deadline passes.
      const timedOut = track(Array.from({ length: 4 }, (_, id) => client.hold({ id }, { timeout: 150 })));
      for (const outcome of await within(timedOut.done, LONG, "the calls time out")) {
        assert.equal(outcome.ok ? "ok" : outcome.error.code, "DEADLINE_EXCEEDED");
      }
      await settled(server, "after deadlines");
      await waitFor(() => backend.running === 0, LONG, "the handlers saw their signal");

      // Still 4 slots, no fewer.
      const after = track(Array.from({ length: 4 }, (_, id) => client.hold({ id })));
      await waitFor(() => backend.running === 4, LONG, "4 calls run again");
      backend.open();
      assert.ok((await within(after.done, LONG, "they finish")).every((o) => o.ok));
    }
    await settled(server, "at the end");
    assert.equal(server.admission.shed, 0, "nothing was shed");
    assert.equal(backend.maxRunning, 4);
  }));

test("the count never leaks: a caller node that goes away mid-call releases every slot it held", () =>
  withTeardown(async (td) => {
    const backend = new Backend();
    const server = await td.node({ name: "server", concurrency: 4, listen: "tcp://127.0.0.1:0" });
    server.serve(Shed, backend.handlers());

    const caller = await startNode({ name: "doomed", logger: recordingLogger() });
    td.add("node doomed", caller, (n) => n.close({ timeout: 0 }));
    const peer = await caller.connect(server.addresses[0]!);
    const client = peer.client(Shed);
    const held = track(Array.from({ length: 3 }, (_, id) => client.hold({ id })));
    const streaming = client.ticks({ count: 3 })[Symbol.asyncIterator]();
    assert.deepEqual(await within(streaming.next(), LONG, "the stream's first item"), { value: 0, done: false });
    await waitFor(() => backend.running === 4, LONG, "4 calls run");
    assert.equal(server.admission.inFlight, 4);

    await within(caller.close({ timeout: 0 }), LONG, "the caller node closes with calls in flight");
    for (const outcome of await within(held.done, LONG, "the caller's calls fail")) assert.equal(outcome.ok, false);
    await settled(server, "after the connection was lost");
    await waitFor(() => backend.running === 0, LONG, "the handlers were aborted");
    assert.equal(backend.abortedHandlers, 4);

    // A new caller gets all 4 slots.
    const fresh = (await td.connect(server.addresses[0]!)).client(Shed);
    const again = track(Array.from({ length: 4 }, (_, id) => fresh.hold({ id })));
    await waitFor(() => backend.running === 4, LONG, "4 calls of a new caller run");
    backend.open();
    assert.ok((await within(again.done, LONG, "they finish")).every((o) => o.ok));
    await settled(server, "at the end");
  }));

test("a per-service limit applies to that service only; the node-wide limit to all of them together", () =>
  withTeardown(async (td) => {
    const backend = new Backend();
    const server = await td.node({ name: "server", listen: "tcp://127.0.0.1:0" });
    server.serve(Shed, backend.handlers(), { concurrency: 2 });
    server.serve(Other, backend.other());
    const peer = await td.connect(server.addresses[0]!);
    const shed = peer.client(Shed);
    const other = peer.client(Other);

    const shedCalls = track(Array.from({ length: 2 }, (_, id) => shed.hold({ id })));
    const otherCalls = track(Array.from({ length: 6 }, (_, id) => other.hold({ id })));
    await waitFor(() => backend.running === 8, LONG, "2 + 6 calls run");
    const refused = await rejection(shed.hold({ id: 9 }));
    assertShed(refused, 2, "server", "the third call of the limited service");
    assert.deepEqual(refused.details, { limit: 2, scope: "service" });
    assert.ok(refused.message.includes("rpc.shed@1.0.0 on node server"), refused.message);
    assertShed(await rejection(server.client(Shed).hold({ id: 10 })), 2, "server", "an in-process call of the limited service");
    const more = other.hold({ id: 7 });
    await waitFor(() => backend.running === 9, LONG, "the unlimited service takes more");

    const stats = server.admission;
    assert.equal(stats.inFlight, 9);
    assert.equal(stats.limit, Infinity);
    assert.equal(stats.shed, 2);
    assert.deepEqual(stats.services["rpc.shed@1.0.0"], { service: "rpc.shed", version: "1.0.0", inFlight: 2, limit: 2, shed: 2 });
    assert.deepEqual(stats.services["rpc.other@1.0.0"], { service: "rpc.other", version: "1.0.0", inFlight: 7, limit: Infinity, shed: 0 });
    backend.open();
    await within(Promise.all([shedCalls.done, otherCalls.done, more]), LONG, "every held call finishes");
    await settled(server, "per-service");

    // Both limits at once: the node's applies to the sum.
    const both = await td.node({ name: "both", concurrency: 3 });
    both.serve(Shed, backend.handlers(), { concurrency: 2 });
    both.serve(Other, backend.other());
    const a = track([both.client(Shed).hold({ id: 1 }), both.client(Other).hold({ id: 2 }), both.client(Other).hold({ id: 3 })]);
    await waitFor(() => backend.running === 3, LONG, "3 calls run");
    const nodeWide = await rejection(both.client(Other).hold({ id: 4 }));
    assert.equal(nodeWide.code, "RESOURCE_EXHAUSTED");
    assert.deepEqual(nodeWide.details, { limit: 3, scope: "node" });
    assert.equal(both.admission.services["rpc.other@1.0.0"]!.shed, 1);
    assert.equal(both.admission.services["rpc.shed@1.0.0"]!.shed, 0);
    backend.open();
    await within(a.done, LONG, "they finish");
    await settled(both, "both limits");

    // Serving no more drops the contract from the counts.
    const stop = both.serve(contract("rpc.gone", "1.0.0", {}), {}, { concurrency: 1 });
    assert.ok("rpc.gone@1.0.0" in both.admission.services);
    stop();
    assert.ok(!("rpc.gone@1.0.0" in both.admission.services));
  }));

for (const where of ["tcp", "in-process"] as const) {
  test(`${where}: a stream holds its slot until it ends`, () =>
    withTeardown(async (td) => {
      const backend = new Backend();
      const server = await td.node({ name: "server", concurrency: 2, ...(where === "tcp" ? { listen: "tcp://127.0.0.1:0" } : {}) });
      server.serve(Shed, backend.handlers());
      const shed = where === "tcp" ? (await td.connect(server.addresses[0]!)).client(Shed) : server.client(Shed);

      // A server stream, held open by its handler.
      const ticks = shed.ticks({ count: 3 });
      const items: number[] = [];
      const reading = (async () => {
        for await (const n of ticks) items.push(n);
      })();
      // A bidirectional stream, open until the caller half-closes.
      const input = deferred<void>();
      const echoed: number[] = [];
      const echo = shed.echo(
        (async function* () {
          yield 1;
          await input.promise;
          yield 2;
        })(),
      );
      const echoing = (async () => {
        for await (const n of echo) echoed.push(n);
      })();
      await waitFor(() => items.length === 1 && echoed.length === 1, LONG, "both streams are under way");
      assert.equal(server.admission.inFlight, 2);

      assertShed(await rejection(shed.hold({ id: 1 })), 2, "server", "a unary call while two streams run");
      const refusedStream = shed.ticks({ count: 1 });
      const streamError = await rejection(
        (async () => {
          for await (const _ of refusedStream) assert.fail("a refused stream yields nothing");
        })(),
      );
      assertShed(streamError, 2, "server", "a third stream");

      backend.open();
      await within(reading, LONG, "the server stream ends");
      assert.deepEqual(items, [0, 1, 2]);
      await waitFor(() => server.admission.inFlight === 1, LONG, "the ended stream gave its slot back");
      const one = shed.hold({ id: 5 });
      await waitFor(() => backend.running === 1, LONG, "a unary call takes the freed slot");
      assertShed(await rejection(shed.hold({ id: 6 })), 2, "server", "while the bidirectional stream still runs");
      backend.open();
      assert.equal(await within(one, LONG, "it finishes"), 5);

      input.resolve();
      await within(echoing, LONG, "the bidirectional stream ends");
      assert.deepEqual(echoed, [1, 2]);
      await settled(server, "after the streams");
      assert.equal(server.admission.shed, 3);
    }));
}

test("a concurrency that is not a positive integer is refused with a TypeError", () =>
  withTeardown(async (td) => {
    for (const bad of [0, -1, Number.NaN, 2.5, -Infinity, "4" as unknown as number]) {
      await assert.rejects(
        startNode({ concurrency: bad, logger: recordingLogger() }),
        (error: Error) => error instanceof TypeError && /concurrency must be a positive integer/.test(error.message) && error.message.includes(String(bad)),
        `startNode({ concurrency: ${String(bad)} })`,
      );
    }
    const node = await td.node({ name: "server", concurrency: Infinity });
    assert.equal(node.admission.limit, Infinity);
    for (const bad of [0, -3, Number.NaN, 0.5]) {
      assert.throws(
        () => node.serve(Shed, new Backend().handlers(), { concurrency: bad }),
        (error: Error) => error instanceof TypeError && /serve\(rpc\.shed\): concurrency must be a positive integer/.test(error.message),
        `serve(…, { concurrency: ${String(bad)} })`,
      );
    }
    assert.deepEqual(node.admission.services, {}, "nothing was served");
    assert.equal(nodeInternals(node).registry.has("rpc.shed", null), false, "nor registered");
    node.serve(Shed, new Backend().handlers(), { concurrency: 1 });
    assert.equal(node.admission.services["rpc.shed@1.0.0"]!.limit, 1);
  }));

test("overload: 2,000 calls offered at once to a node with concurrency 16 all settle, as results or refusals, and nothing leaks", () =>
  withTeardown(async (td) => {
    const backend = new Backend();
    const server = await td.node({ name: "server", concurrency: 16, listen: "tcp://127.0.0.1:0" });
    server.serve(Shed, backend.handlers());
    // Four connections and the in-process path: the limit is node-wide.
    const clients = [
      ...(await Promise.all([1, 2, 3, 4].map(() => td.connect(server.addresses[0]!)))).map((peer) => peer.client(Shed)),
      server.client(Shed),
    ];
    const calls = Array.from({ length: 2_000 }, (_, i) => clients[i % clients.length]!.quick({ ms: 5 }));
    const outcomes = await within(track(calls).done, 60_000, "all 2,000 calls settle");
    const succeeded = outcomes.filter((o) => o.ok).length;
    const refused = outcomes.filter((o) => !o.ok && o.error.code === "RESOURCE_EXHAUSTED" && o.error.unprocessed).length;
    const other = outcomes.filter((o) => !o.ok && !(o.error.code === "RESOURCE_EXHAUSTED" && o.error.unprocessed));
    assert.deepEqual(other.map((o) => (o.ok ? "" : `${o.error.code}: ${o.error.message}`)).slice(0, 3), [], "no other outcome");
    assert.equal(succeeded + refused, 2_000);
    assert.ok(succeeded >= 16, `at least a full set of calls ran (${succeeded})`);
    assert.ok(refused > 0, "the overload was shed");
    assert.equal(backend.started, succeeded, "only admitted calls reached the handler");
    assert.ok(backend.maxRunning <= 16, `never more than 16 ran at once (${backend.maxRunning})`);
    await settled(server, "after the overload");
    assert.equal(server.admission.shed, refused);
  }));
