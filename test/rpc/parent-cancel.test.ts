// A call linked to the served call it is made for (CallRequest.parent, as a gateway forwards) is cancelled with it, over TCP and in-process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, RpcError, unary, type CallContext, type ClientInterceptor, type Node } from "../../src/index.ts";
import { withParentSignal } from "../../src/rpc/parent-signal.ts";
import { aborted, deferred, rejection, within, withTeardown } from "./support.ts";

const Hold = contract("parent.hold", "1.0.0", {
  hold: unary({ input: z.object({}), output: z.string() }),
});
const Relay = contract("parent.relay", "1.0.0", {
  relay: unary({ input: z.object({}), output: z.string() }),
});

/** Serves Hold: each call waits until its signal fires; `started` and `signals` say what arrived. */
function serveHold(node: Node) {
  const signals: AbortSignal[] = [];
  const started = deferred<void>();
  node.serve(Hold, {
    hold: (_input, ctx) => {
      signals.push(ctx.signal);
      started.resolve();
      return new Promise<string>((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    },
  });
  return { signals, started: started.promise };
}

/** Links each call to `parent` instead of a signal, as the gateway's forwarder does. */
function linkedTo(parent: Pick<CallContext, "onAbort">, sent: Array<AbortSignal | undefined>): ClientInterceptor {
  return (next) => (request) => {
    const linked = { ...request, signal: undefined, parent };
    sent.push(linked.signal);
    return next(linked);
  };
}

for (const where of ["over TCP", "in-process"] as const) {
  test(`cancelling a served call cancels the call it made with it as parent, ${where}`, () =>
    withTeardown(async (td) => {
      const far = await td.node({ name: "far", listen: "tcp://127.0.0.1:0" });
      const relay = await td.node({ name: "relay", listen: "tcp://127.0.0.1:0" });
      const held = serveHold(where === "in-process" ? relay : far);
      const peer = where === "over TCP" ? await td.connect(far.addresses[0]!) : null;
      const sent: Array<AbortSignal | undefined> = [];
      relay.serve(Relay, {
        relay: (_input, ctx) => {
          const interceptors = [linkedTo(ctx, sent)];
          const hold = peer ? peer.client(Hold, { interceptors }) : relay.client(Hold, { interceptors });
          return hold.hold({});
        },
      });
      const caller = await td.connect(relay.addresses[0]!);
      const abort = new AbortController();
      const call = rejection(caller.client(Relay).relay({}, { signal: abort.signal, timeout: 30_000 }));
      await within(held.started, 5_000, "the held call reaches its handler");
      assert.deepEqual(sent, [undefined], "the onward call carried no signal, only its parent");
      abort.abort();
      assert.equal((await within(call, 5_000, "the cancelled call ends")).code, "CANCELLED");
      const reason = await within(aborted(held.signals[0]!), 5_000, "the onward call's handler sees the cancellation");
      assert.ok(reason instanceof RpcError && reason.code === "CANCELLED", `cancelled, not ${String(reason)}`);
    }));
}

test("a call whose parent was aborted already is not sent: CANCELLED, unprocessed", () =>
  withTeardown(async (td) => {
    const far = await td.node({ name: "far", listen: "tcp://127.0.0.1:0" });
    const held = serveHold(far);
    const peer = await td.connect(far.addresses[0]!);
    const gone = { onAbort: (listener: (reason: unknown) => void) => listener(new RpcError("CANCELLED", "the served call is over")) };
    for (const client of [peer.client(Hold, { interceptors: [linkedTo(gone, [])] }), far.client(Hold, { interceptors: [linkedTo(gone, [])] })]) {
      const error = await rejection(client.hold({}));
      assert.equal(error.code, "CANCELLED");
      assert.equal(error.unprocessed, true, error.message);
    }
    assert.equal(held.signals.length, 0, "no call reached the handler");
  }));

test("withParentSignal folds a parent into the signal the slower paths wait on", () => {
  let fire: ((reason: unknown) => void) | undefined;
  const parent = { onAbort: (listener: (reason: unknown) => void) => void (fire = listener) };
  const base = { service: "s", method: "m", kind: "unary" as const, version: null, input: {}, deadline: undefined, meta: undefined, onMeta: undefined };
  const alone = withParentSignal({ ...base, signal: undefined, parent });
  assert.equal(alone.parent, undefined);
  assert.equal(alone.signal!.aborted, false);
  const reason = new RpcError("CANCELLED", "parent gone");
  fire!(reason);
  assert.equal(alone.signal!.aborted, true);
  assert.equal(alone.signal!.reason, reason);
  // With a signal of its own too, either one aborts it.
  const own = new AbortController();
  const both = withParentSignal({ ...base, signal: own.signal, parent });
  own.abort(new Error("mine"));
  assert.equal(both.signal!.aborted, true);
  // Without a parent the request is passed as it is.
  const plain = { ...base, signal: undefined };
  assert.equal(withParentSignal(plain), plain);
});
