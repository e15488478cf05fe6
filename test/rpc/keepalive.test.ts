/**
 * The keepalive's decisions, tick by tick, on a connection whose every
 * figure the test sets: a PING after the interval of silence with calls in
 * flight, the connection declared dead when nothing answers within the
 * timeout — also while frames queued this turn wait to go out (a call just
 * made, a CANCEL), which say nothing of the peer — and not while the
 * operating system refuses our bytes (the peer is alive and not reading).
 * Each test is synchronous: the keepalives' shared ticker cannot run in
 * between, and each is stopped before the test ends.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Keepalive } from "../../src/rpc/keepalive.ts";
import type { Connection } from "../../src/transport/index.ts";
import { FrameKind } from "../../src/wire/index.ts";

const limits = { keepaliveInterval: 1_000, keepaliveTimeout: 2_000 };

function setup(canReset = false) {
  const sent: number[] = [];
  const state = { backlog: 0, refusedBytes: 0, destroyed: "", reset: false };
  const connection = {
    ...(canReset ? { reset: (error?: Error) => void ((state.reset = true), (state.destroyed = error?.message ?? "reset")) } : {}),
    get backlog() {
      return state.backlog;
    },
    get refusedBytes() {
      return state.refusedBytes;
    },
    send: (kind: FrameKind) => void sent.push(kind),
    close() {},
    destroy: (error?: Error) => void (state.destroyed = error?.message ?? "destroyed"),
  } as unknown as Connection;
  const subject = { lastActivity: 0, activeCalls: 1, closed: false, outgoingIds: [7] };
  const keepalive = new Keepalive(subject, connection, limits);
  return { keepalive, sent, state, subject };
}

test("a silent connection with a call in flight is pinged, and declared dead when nothing answers, though frames of this turn wait to go out", () => {
  const { keepalive, sent, state } = setup();
  keepalive.check(999, false);
  assert.deepEqual(sent, [], "no PING before the interval");
  keepalive.check(1_000, false);
  assert.deepEqual(sent, [FrameKind.Ping]);
  // A call made (or cancelled) in the same turn as a tick: queued, not refused.
  state.backlog = 120;
  for (let now = 1_100; now < 3_000; now += 100) keepalive.check(now, false);
  assert.equal(state.destroyed, "", "not before the timeout");
  keepalive.check(3_000, false);
  assert.match(state.destroyed, /^keepalive: no answer to a PING within 2000 ms/);
  assert.deepEqual(sent.slice(1), [FrameKind.Cancel], "without a reset, a CANCEL behind the call in flight before the socket goes");
  keepalive.stop();
});

test("a dead connection that can be reset is reset: what the operating system holds for the peer is dropped, not delivered late", () => {
  const { keepalive, sent, state } = setup(true);
  keepalive.check(1_000, false);
  keepalive.check(3_000, false);
  assert.equal(state.reset, true);
  assert.match(state.destroyed, /^keepalive: no answer to a PING/);
  assert.deepEqual(sent, [FrameKind.Ping], "nothing queued behind the calls: the reset would drop it");
  keepalive.stop();
});

test("while the operating system refuses our bytes, the peer is alive and not reading: the keepalive waits", () => {
  const { keepalive, state } = setup();
  keepalive.check(1_000, false);
  state.backlog = state.refusedBytes = 64 * 1024;
  for (let now = 1_100; now <= 6_000; now += 100) keepalive.check(now, false);
  assert.equal(state.destroyed, "");
  // It takes our bytes again, and answers nothing: dead a timeout later.
  state.backlog = state.refusedBytes = 0;
  keepalive.check(6_100, false);
  assert.equal(state.destroyed, "");
  keepalive.check(8_000, false);
  assert.match(state.destroyed, /no answer to a PING/);
  // An answer before the timeout keeps a connection: another one, answered.
  const other = setup();
  other.keepalive.check(1_000, false);
  other.subject.lastActivity = 1_500;
  other.keepalive.check(1_600, false);
  other.keepalive.check(3_100, false);
  assert.equal(other.state.destroyed, "", "the PONG (or any frame) came");
  other.keepalive.stop();
});
