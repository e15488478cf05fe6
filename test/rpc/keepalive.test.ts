/**
 * The keepalive's decisions, tick by tick, on a connection whose every
 * figure the test sets: a PING after the interval of silence with calls in
 * flight, the connection declared dead when nothing answers within the
 * timeout — also while frames queued this turn wait to go out (a call just
 * made, a CANCEL), which say nothing of the peer — and not while the
 * operating system refuses our bytes but takes some now and then (the peer
 * is alive and slow), though it is when it takes none (a half-open link);
 * a stall of our own process defers the verdict to the next tick.
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
  const state = { backlog: 0, refusedBytes: 0, writeProgress: 0, destroyed: "", reset: false };
  const connection = {
    ...(canReset ? { reset: (error?: Error) => void ((state.reset = true), (state.destroyed = error?.message ?? "reset")) } : {}),
    get backlog() {
      return state.backlog;
    },
    get refusedBytes() {
      return state.refusedBytes;
    },
    get writeProgress() {
      return state.writeProgress;
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

test("while the operating system refuses our bytes but takes some now and then, the peer is alive and slow: the keepalive waits", () => {
  const { keepalive, state } = setup();
  keepalive.check(1_000, false);
  state.backlog = state.refusedBytes = 64 * 1024;
  for (let now = 1_100; now <= 6_000; now += 100) {
    // The kernel takes a piece every third tick: the peer acknowledges slowly.
    if (now % 300 === 0) state.writeProgress += 1_448;
    keepalive.check(now, false);
  }
  assert.equal(state.destroyed, "");
  // It takes our bytes again, and answers nothing: dead a timeout later.
  state.backlog = state.refusedBytes = 0;
  keepalive.check(6_100, false);
  assert.equal(state.destroyed, "");
  keepalive.check(8_000, false);
  assert.match(state.destroyed, /no answer to a PING/);
  keepalive.stop();
});

test("a send buffer that takes nothing while nothing arrives is a half-open link: dead like a silent one", () => {
  const { keepalive, sent, state } = setup();
  state.backlog = state.refusedBytes = 64 * 1024;
  keepalive.check(900, false);
  keepalive.check(1_000, false);
  assert.deepEqual(sent, [FrameKind.Ping], "pinged after the interval, though the PING waits behind the refused bytes");
  for (let now = 1_100; now < 3_000; now += 100) keepalive.check(now, false);
  assert.equal(state.destroyed, "", "not before the timeout");
  keepalive.check(3_000, false);
  assert.match(state.destroyed, /^keepalive: no answer to a PING within 2000 ms/);
  keepalive.stop();
});

test("an answer before the timeout keeps a connection", () => {
  const other = setup();
  other.keepalive.check(1_000, false);
  other.subject.lastActivity = 1_500;
  other.keepalive.check(1_600, false);
  other.keepalive.check(3_100, false);
  assert.equal(other.state.destroyed, "", "the PONG (or any frame) came");
  other.keepalive.stop();
});

test("a stall of our own process decides nothing: the next tick does, after the frames that came meanwhile are read", () => {
  const { keepalive, state, subject } = setup();
  keepalive.check(1_000, false);
  keepalive.check(3_500, true);
  assert.equal(state.destroyed, "", "what arrived during the stall is not read yet");
  subject.lastActivity = 3_550;
  keepalive.check(3_600, false);
  assert.equal(state.destroyed, "", "the PONG read after the stall keeps the connection");
  // Stalls again and again (a loaded machine) do not put the verdict off for ever.
  subject.lastActivity = 3_600;
  keepalive.check(4_600, false);
  for (let now = 5_200; now <= 7_000; now += 600) keepalive.check(now, true);
  assert.equal(state.destroyed, "");
  keepalive.check(7_100, false);
  assert.match(state.destroyed, /no answer to a PING/);
  keepalive.stop();
});
