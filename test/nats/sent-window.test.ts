// What one end of a virtual connection keeps until the peer acknowledges it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SentWindow } from "../../src/nats/sent-window.ts";

const message = (seq: number): Uint8Array => new Uint8Array([seq, 0, 0]);

function kept(window: SentWindow): number[] {
  const out: number[] = [];
  window.forEach((bytes) => out.push(bytes[0]!));
  return out;
}

test("keeps messages until acknowledged, oldest first, counting their bytes", () => {
  const window = new SentWindow();
  for (let seq = 1; seq <= 5; seq++) window.push(seq, message(seq), 100);
  assert.deepEqual(kept(window), [1, 2, 3, 4, 5]);
  assert.equal(window.bytes, 15);
  window.ack(3, 200);
  assert.deepEqual(kept(window), [4, 5]);
  assert.equal(window.size, 2);
  assert.equal(window.bytes, 6);
  assert.equal(window.progressAt, 200, "an acknowledgement is progress");
});

test("an old or repeated acknowledgement changes nothing; one past the end empties it", () => {
  const window = new SentWindow();
  for (let seq = 7; seq <= 9; seq++) window.push(seq, message(seq), 100);
  window.ack(5, 300);
  window.ack(7, 400);
  window.ack(7, 500);
  assert.deepEqual(kept(window), [8, 9]);
  assert.equal(window.progressAt, 400, "a repeated ack is not progress");
  window.ack(50, 600);
  assert.equal(window.size, 0);
  assert.equal(window.bytes, 0);
  window.push(10, message(10), 700);
  assert.equal(window.progressAt, 700, "the wait starts again with the next message");
  assert.deepEqual(kept(window), [10]);
});

test("many messages acknowledged in steps stay in order (bounded: 10,000)", () => {
  const window = new SentWindow();
  let next = 1;
  let acked = 0;
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 100; i++, next++) window.push(next, new Uint8Array([next & 0xff]), round);
    acked += 97;
    window.ack(acked, round);
    assert.equal(window.size, next - 1 - acked);
  }
  const rest: number[] = [];
  window.forEach((bytes) => rest.push(bytes[0]!));
  assert.deepEqual(rest, Array.from({ length: next - 1 - acked }, (_, i) => (acked + 1 + i) & 0xff));
  window.clear();
  assert.equal(window.size, 0);
});
