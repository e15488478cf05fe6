// A trace as the recent-calls panel shows it: the calls of one request from
// several nodes' rings, put back together as a tree — the root first and
// naming the trace, each parent above its children, siblings in order of
// start — with offsets that keep fractions of a millisecond.
import assert from "node:assert/strict";
import { it } from "node:test";
import { traceOf, tracesOf, type ReportedCall } from "../../src/dashboard/recent-calls.ts";

const TRACE = "a".repeat(32);

function span(id: string, parent: string | null, kind: "client" | "server", name: string, node: string, start: number, durationMs: number, code = "OK"): ReportedCall {
  const [service, method] = name.split(".") as [string, string];
  return { traceId: TRACE, spanId: id.padEnd(16, "0"), parentSpanId: parent === null ? null : parent.padEnd(16, "0"), kind, service, method, peer: "-", start, durationMs, code, node, cluster: node === "users-1" ? "region" : "core" };
}

it("lists a nested call as a tree under its root, whatever order the nodes answered in", () => {
  const t0 = 1_700_000_000_000.125;
  // checkout.buy from the edge, whose handler calls users.get and then orders.place one after the other, within a millisecond.
  const calls = [
    span("6", "5", "server", "orders.place", "orders-1", t0 + 0.61, 0.2, "FAILED_PRECONDITION"),
    span("4", "3", "server", "users.get", "users-1", t0 + 0.31, 0.1),
    span("3", "2", "client", "users.get", "checkout-1", t0 + 0.3, 0.15),
    span("5", "2", "client", "orders.place", "checkout-1", t0 + 0.6, 0.25, "FAILED_PRECONDITION"),
    span("2", "1", "server", "checkout.buy", "checkout-1", t0 + 0.2, 0.8, "FAILED_PRECONDITION"),
    span("1", null, "client", "checkout.buy", "edge", t0, 1.1, "FAILED_PRECONDITION"),
  ];
  const trace = traceOf(TRACE, calls);
  assert.equal(trace.title, "checkout.buy", "named after its root, not after the earliest answer");
  assert.equal(trace.complete, true);
  assert.equal(trace.code, "FAILED_PRECONDITION");
  assert.deepEqual(
    trace.spans.map((s) => `${"  ".repeat(s.depth)}${s.kind} ${s.service}.${s.method} @${s.node}`),
    [
      "client checkout.buy @edge",
      "  server checkout.buy @checkout-1",
      "    client users.get @checkout-1",
      "      server users.get @users-1",
      "    client orders.place @checkout-1",
      "      server orders.place @orders-1",
    ],
  );
  const offsets = trace.spans.map((s) => s.offsetMs);
  assert.deepEqual(offsets, [0, 0.2, 0.3, 0.31, 0.6, 0.61], "sub-millisecond offsets, not all 0");
  assert.equal(trace.durationMs, 1.1);
  assert.deepEqual(trace.spans.map((s) => s.cluster), ["core", "core", "core", "region", "core", "core"]);
});

it("keeps a trace whose root rolled out of a ring, marked incomplete, and lists traces newest first", () => {
  const older = [span("2", "1", "server", "calc.add", "calc-1", 1_000.5, 0.4)];
  const newer = [span("9", null, "client", "calc.add", "front", 2_000.25, 0.7), span("8", "9", "server", "calc.add", "calc-1", 2_000.3, 0.2)].map((c) => ({ ...c, traceId: "b".repeat(32) }));
  const traces = tracesOf([...older, ...newer]);
  assert.deepEqual(traces.map((t) => t.traceId), ["b".repeat(32), TRACE]);
  assert.equal(traces[1]!.complete, false, "its client span is missing");
  assert.equal(traces[1]!.title, "calc.add");
  assert.equal(traces[0]!.spans[1]!.offsetMs, 0.05);
});
