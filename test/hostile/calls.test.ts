import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameKind } from "../../src/wire/index.ts";
import { assertRefused, fixture, hostilePeer } from "./harness.ts";
import { resultOf, Status } from "./raw-peer.ts";

const POLLUTING_JSON =
  '{"a": 1, "b": 2, "__proto__": {"polluted": "yes", "a": 100}, "constructor": {"prototype": {"polluted": "yes"}}}';

function assertPrototypeClean(): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
  assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
  assert.equal(typeof Object.prototype.toString, "function");
}

describe("hostile peers: calls", () => {
  test("a CALL input with __proto__ and constructor keys pollutes nothing and is handled normally", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    // JSON.parse makes "__proto__" an own key, so it goes on the wire as a map key.
    peer.sendCall(1, "calculator", "add", JSON.parse(POLLUTING_JSON));
    const outcome = await peer.outcome(1);
    assertPrototypeClean();
    assert.equal(outcome.kind, FrameKind.Result, `expected a result, got ${JSON.stringify(outcome.body)}`);
    assert.deepEqual(resultOf(outcome.body), [3, null], "a and b come from the input itself, not from a smuggled prototype");
    await f.assertServing();
    peer.destroy();
    await f.assertHealthy();
  });

  test("fields present only under __proto__ do not satisfy the schema", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "add", JSON.parse('{"__proto__": {"a": 1, "b": 2}}'));
    const [code, message, details] = await peer.errorOf(1);
    assert.equal(code, Status.INVALID_ARGUMENT, String(message));
    assert.ok(Array.isArray((details as { issues?: unknown })?.issues));
    assertPrototypeClean();
    peer.destroy();
    await f.assertHealthy();
  });

  for (const method of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "then", "__defineGetter__"]) {
    test(`method "${method}" is UNIMPLEMENTED, and the connection stays usable`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.sendCall(1, "calculator", method, { a: 1, b: 2 });
      const [code, message, , service, reportedMethod, , unprocessed] = await peer.errorOf(1);
      assert.equal(code, Status.UNIMPLEMENTED, String(message));
      assert.match(String(message), /has no method/);
      assert.equal(service, "calculator");
      assert.equal(reportedMethod, method);
      assert.equal(unprocessed, 1, "no handler ran");
      // Same connection, a real method: still works.
      peer.sendCall(3, "calculator", "add", { a: 2, b: 2 });
      assert.deepEqual(resultOf((await peer.outcome(3)).body), [4, null]);
      assertPrototypeClean();
      await f.assertServing();
      peer.destroy();
      await f.assertHealthy();
    });
  }

  for (const service of ["nosuch", "__proto__", "constructor", "toString", "calculator.add", ""]) {
    test(`unknown service ${JSON.stringify(service)} is NOT_FOUND`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.sendCall(1, service, "add", { a: 1, b: 2 });
      const [code, message, , , , , unprocessed] = await peer.errorOf(1);
      assert.equal(code, Status.NOT_FOUND, String(message));
      assert.match(String(message), /not served by node/);
      assert.equal(unprocessed, 1);
      peer.destroy();
      await f.assertHealthy();
    });
  }

  test("a version range the node does not serve is NOT_FOUND naming what it serves", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "add", { a: 1, b: 2 }, { version: "^9.0.0" });
    peer.sendCall(3, "calculator", "add", { a: 1, b: 2 }, { version: "not a range" });
    const [code, message] = await peer.errorOf(1);
    assert.equal(code, Status.NOT_FOUND);
    assert.match(String(message), /calculator@1\.2\.0/);
    const [code3] = await peer.errorOf(3);
    assert.equal(code3, Status.NOT_FOUND);
    peer.destroy();
    await f.assertHealthy();
  });

  for (const [name, input, path] of [
    ["a string where a number belongs", { a: "1", b: 2 }, "a"],
    ["a missing field", { a: 1 }, "b"],
    ["null input", null, ""],
    ["an array input", [1, 2], ""],
    ["bytes as input", new Uint8Array([1, 2]), ""],
    ["a date where a number belongs", { a: new Date(0), b: 1 }, "a"],
  ] as const) {
    test(`a schema violation (${name}) is INVALID_ARGUMENT with issues in details`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.sendCall(1, "calculator", "add", input);
      const [code, message, details, service, method] = await peer.errorOf(1);
      assert.equal(code, Status.INVALID_ARGUMENT, String(message));
      assert.match(String(message), /does not match the contract's schema/);
      assert.equal(service, "calculator");
      assert.equal(method, "add");
      const issues = (details as { issues?: Array<{ message: unknown; path: unknown }> })?.issues;
      assert.ok(Array.isArray(issues) && issues.length > 0, `details: ${JSON.stringify(details)}`);
      for (const issue of issues) {
        assert.equal(typeof issue.message, "string");
        assert.equal(typeof issue.path, "string");
      }
      if (path !== "") assert.ok(issues.some((issue) => issue.path === path), `an issue at "${path}": ${JSON.stringify(issues)}`);
      peer.destroy();
      await f.assertHealthy();
    });
  }

  test("a stream input out of the schema's range is INVALID_ARGUMENT", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "count", { to: 1e12 }, { credit: 10 });
    const [code] = await peer.errorOf(1);
    assert.equal(code, Status.INVALID_ARGUMENT);
    assert.equal(f.produced(), 0, "the handler never ran");
    peer.destroy();
    await f.assertHealthy();
  });

  const malformedCalls: Array<[string, number, unknown]> = [
    ["a body that is not a list", 1, { service: "calculator", method: "add" }],
    ["a body that is a string", 1, "calculator.add"],
    ["no body at all", 1, undefined],
    ["too few fields", 1, ["calculator", "add", null, null, null, { a: 1, b: 2 }]],
    ["a service that is not a string", 1, [7, "add", null, null, null, { a: 1, b: 2 }, 0]],
    ["a method that is not a string", 1, ["calculator", ["add"], null, null, null, { a: 1, b: 2 }, 0]],
    ["a version that is not a string", 1, ["calculator", "add", 1, null, null, { a: 1, b: 2 }, 0]],
    ["a negative timeout", 1, ["calculator", "add", null, -1, null, { a: 1, b: 2 }, 0]],
    ["a timeout that is a string", 1, ["calculator", "add", null, "100", null, { a: 1, b: 2 }, 0]],
    ["a NaN timeout", 1, ["calculator", "add", null, Number.NaN, null, { a: 1, b: 2 }, 0]],
    ["a negative credit", 1, ["calculator", "add", null, null, null, { a: 1, b: 2 }, -1]],
    ["a NaN credit", 1, ["calculator", "add", null, null, null, { a: 1, b: 2 }, Number.NaN]],
    ["a credit that is a string", 1, ["calculator", "add", null, null, null, { a: 1, b: 2 }, "64"]],
    ["an even id (the acceptor's own numbering)", 2, ["calculator", "add", null, null, null, { a: 1, b: 2 }, 0]],
    ["id 0", 0, ["calculator", "add", null, null, null, { a: 1, b: 2 }, 0]],
  ];
  for (const [name, id, body] of malformedCalls) {
    test(`a malformed CALL (${name}) is refused, and no handler runs`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.send(FrameKind.Call, id, body);
      await assertRefused(peer, /malformed CALL frame/);
      assert.equal(
        peer.frames.some((frame) => frame.kind === FrameKind.Result),
        false,
      );
      await f.assertHealthy();
    });
  }

  test("a CALL reusing the id of a call in flight is refused", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "sleep", { ms: 2_000 });
    peer.sendCall(1, "calculator", "add", { a: 1, b: 2 });
    await assertRefused(peer, /malformed CALL frame \(id 1\)/);
    await f.assertHealthy();
  });

  for (const [name, meta] of [
    ["a list", ["a", "b"]],
    ["a string", "trace=1"],
    ["a number", 42],
    ["a number value", { retries: 3 }],
    ["a nested object value", { user: { id: "u1" } }],
    ["a null value", { user: null }],
    ["a bytes value", { user: new Uint8Array([1]) }],
    ["bytes", new Uint8Array([1, 2, 3])],
    ["over 8 KiB of keys and values", { big: "x".repeat(9 * 1024) }],
    ["many small entries over 8 KiB", Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`key-${i}`, "0123456789"]))],
  ] as const) {
    test(`metadata that is ${name} is INVALID_ARGUMENT, and no handler runs`, async (t) => {
      const f = await fixture(t);
      const peer = await hostilePeer(t, f);
      peer.sendCall(1, "calculator", "count", { to: 3 }, { meta, credit: 10 });
      const [code, message, , , , , unprocessed] = await peer.errorOf(1);
      assert.equal(code, Status.INVALID_ARGUMENT, String(message));
      assert.match(String(message), /metadata must map strings to strings/);
      assert.equal(unprocessed, 1);
      assert.equal(f.produced(), 0, "the handler never ran");
      // The connection is still usable.
      peer.sendCall(3, "calculator", "add", { a: 1, b: 1 }, { meta: { ok: "yes" } });
      assert.deepEqual(resultOf((await peer.outcome(3)).body), [2, null]);
      peer.destroy();
      await f.assertHealthy();
    });
  }

  test("metadata with __proto__ and constructor keys pollutes nothing", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "add", { a: 1, b: 2 }, { meta: JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": "x"}') });
    const outcome = await peer.outcome(1);
    assertPrototypeClean();
    // Either refused as not string→string, or served: never a crash, never pollution.
    if (outcome.kind === FrameKind.Error) assert.equal((outcome.body as unknown[])[0], Status.INVALID_ARGUMENT);
    else assert.deepEqual(resultOf(outcome.body), [3, null]);
    peer.destroy();
    await f.assertHealthy();
  });

  test("metadata just under the limit is accepted", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "add", { a: 1, b: 2 }, { meta: { big: "x".repeat(8 * 1024 - 3) } });
    const outcome = await peer.outcome(1);
    assert.equal(outcome.kind, FrameKind.Result, JSON.stringify(outcome.body).slice(0, 200));
    peer.destroy();
    await f.assertHealthy();
  });

  test("stream items over the credit granted are RESOURCE_EXHAUSTED", async (t) => {
    const f = await fixture(t, { limits: { streamWindow: 8 } });
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "probe", "hold", null);
    const credit = await peer.waitForFrame((frame) => frame.kind === FrameKind.Credit && frame.id === 1, "the callee's CREDIT");
    assert.equal(credit.body, 8);
    // The handler reads nothing, so no further credit comes: item 9 is over the credit.
    for (let i = 0; i < 50; i++) peer.send(FrameKind.Item, 1, i);
    const [code, message] = await peer.errorOf(1);
    assert.equal(code, Status.RESOURCE_EXHAUSTED, String(message));
    assert.match(String(message), /more stream items than its credit/);
    await f.assertServing();
    peer.destroy();
    await f.assertHealthy();
  });

  test("a stream item that breaks the schema is INVALID_ARGUMENT", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "probe", "hold", null);
    await peer.waitForFrame((frame) => frame.kind === FrameKind.Credit && frame.id === 1, "the callee's CREDIT");
    peer.send(FrameKind.Item, 1, { not: "a number" });
    const [code, , details] = await peer.errorOf(1);
    assert.equal(code, Status.INVALID_ARGUMENT);
    assert.ok(Array.isArray((details as { issues?: unknown })?.issues));
    peer.destroy();
    await f.assertHealthy();
  });

  test("ITEM frames sent to a unary call are ignored; the call still answers", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "sleep", { ms: 50 });
    for (let i = 0; i < 1_000; i++) peer.send(FrameKind.Item, 1, i);
    const outcome = await peer.outcome(1);
    assert.deepEqual(resultOf(outcome.body), [50, null]);
    peer.destroy();
    await f.assertHealthy();
  });

  test("calls over maxConcurrentCalls on one connection are RESOURCE_EXHAUSTED, not processed", async (t) => {
    const f = await fixture(t, { limits: { maxConcurrentCalls: 4 } });
    const peer = await hostilePeer(t, f);
    for (let i = 0; i < 6; i++) peer.sendCall(2 * i + 1, "calculator", "sleep", { ms: 300 });
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => peer.outcome(2 * i + 1)));
    const refused = outcomes.filter((frame) => frame.kind === FrameKind.Error);
    assert.equal(refused.length, 2);
    for (const frame of refused) {
      const body = frame.body as unknown[];
      assert.equal(body[0], Status.RESOURCE_EXHAUSTED);
      assert.equal(body[6], 1, "not processed");
    }
    // Other connections have their own budget.
    await f.assertServing();
    peer.destroy();
    await f.assertHealthy();
  });

  test("a timeout past the 32-bit timer range is honoured, not treated as already expired", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "sleep", { ms: 100 }, { timeout: 2 ** 32 });
    const outcome = await peer.outcome(1);
    assert.equal(outcome.kind, FrameKind.Result, `expected a result, got ${JSON.stringify(outcome.body)}`);
    assert.deepEqual(resultOf(outcome.body), [100, null]);
    peer.destroy();
    await f.assertHealthy();
  });

  test("a CANCEL stops a running call; the caller gets no answer and the node goes on", async (t) => {
    const f = await fixture(t);
    const peer = await hostilePeer(t, f);
    peer.sendCall(1, "calculator", "count", { to: 1_000_000 }, { credit: 4 });
    await peer.waitForFrame((frame) => frame.kind === FrameKind.Item && frame.id === 1, "a first item");
    peer.send(FrameKind.Cancel, 1, null);
    peer.send(FrameKind.Credit, 1, 1 << 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(f.produced() < 1_000, `the handler went on after the cancel: ${f.produced()} items`);
    peer.destroy();
    await f.assertHealthy();
  });
});
