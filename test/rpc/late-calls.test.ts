/**
 * CALLs that arrive late, over a real socket: a raw peer whose CALLs say when
 * they were sent, on a clock of its own with another origin. Against the quick
 * CALLs before it, one that says it left a second ago has lost that second of
 * its deadline: with a 500 ms timeout its handler never starts
 * (DEADLINE_EXCEEDED, unprocessed); with 3 s it starts with about 2 s left.
 * A CALL that says nothing of when it left is taken as on time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, startNode, unary } from "../../src/index.ts";
import { FrameKind } from "../../src/wire/index.ts";
import { RawPeer, resultOf, Status } from "../hostile/raw-peer.ts";
import { recordingLogger } from "../conformance/helpers.ts";

const Work = contract("late.work", "1.0.0", {
  run: unary({ input: z.object({ n: z.number() }), output: z.number().nullable() }),
});

test("a CALL that waited on its way loses that much of its deadline, and never starts once it is gone", async (t) => {
  const node = await startNode({ name: "late-server", listen: "tcp://127.0.0.1:0", logger: recordingLogger() });
  t.after(() => node.close({ timeout: 500 }));
  const started: number[] = [];
  node.serve(Work, {
    run: ({ n }, ctx) => {
      started.push(n);
      return ctx.deadline === undefined ? null : ctx.deadline - Date.now();
    },
  });
  const peer = await RawPeer.handshaken(node.addresses[0]!);
  t.after(() => peer.destroy());
  // The peer's clock: whole ms from an origin far from the node's.
  const clock = () => Math.round(performance.now()) + 7_000_000;
  let id = 1;
  const call = (n: number, timeout: number, sent?: number) => {
    const mine = id;
    id += 2;
    peer.sendCall(mine, "late.work", "run", { n }, { timeout, kind: 0, ...(sent === undefined ? {} : { sent }) });
    return peer.outcome(mine);
  };

  // Quick CALLs set the connection's baseline.
  for (let n = 0; n < 5; n++) {
    const outcome = await call(n, 5_000, clock());
    const [remaining] = resultOf(outcome.body) as [number];
    assert.ok(remaining > 4_900 && remaining <= 5_000, `an on-time CALL keeps its deadline: ${remaining} ms of 5000`);
  }

  const gone = await call(100, 500, clock() - 1_000);
  assert.equal(gone.kind, FrameKind.Error);
  const [code, message, , , , , unprocessed] = gone.body as [number, string, unknown, string, string, string, number];
  assert.equal(code, Status.DEADLINE_EXCEEDED, message);
  assert.equal(unprocessed, 1, "not processed: a caller may send it again");
  assert.ok(!started.includes(100), "the handler of a CALL whose deadline passed on its way never started");

  const shortened = await call(101, 3_000, clock() - 1_000);
  const [left] = resultOf(shortened.body) as [number];
  assert.ok(left > 1_800 && left <= 2_005, `a CALL 1 s late with 3 s of timeout has ${left} ms left`);

  const unknown = await call(102, 500);
  assert.equal(unknown.kind, FrameKind.Result, "a CALL without its send time is taken as on time");
  for (const [n, sent] of [[103, Number.NaN], [104, Number.POSITIVE_INFINITY], [105, Number.NEGATIVE_INFINITY]] as const) {
    assert.equal((await call(n, 500, sent)).kind, FrameKind.Result, `a send time of ${sent} is ignored`);
  }
  assert.equal((await call(106, 500, clock())).kind, FrameKind.Result, "and spoils nothing for the CALLs after it");
  assert.deepEqual(started.slice(-6), [101, 102, 103, 104, 105, 106]);
});
