// Traffic per caller → callee link from two readings of the nodes' stats:
// calls per second from the callers' counters, latency and errors weighted
// by calls, and the p99 of what the callee served in between.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { InstanceStats, NodeStats } from "../../src/index.ts";
import { TrafficMeter } from "../../src/dashboard/traffic.ts";

const BOUNDS = [0.001, 0.005, 0.01, 0.05];

function seen(nodeId: string, calls: number, ewmaMs: number, errorRate = 0): InstanceStats {
  return { node: nodeId, nodeId, address: "tcp://127.0.0.1:1", locality: "host", suspect: false, outstanding: 1, calls, failures: 0, ewmaMs, errorRate, state: "healthy", ejections: 0 };
}

function node(nodeId: string, calls: Array<[service: string, InstanceStats[]]>, served: number[] | null = null, failed = 0): NodeStats {
  return {
    node: nodeId,
    nodeId,
    services: calls.map(([service, instances]) => ({ service, version: null, instances })),
    server: { inFlight: 0, limit: Infinity, shed: 0, services: {} },
    ...(served ? { methods: [{ service: "calc", method: "add", calls: { OK: served.reduce((a, b) => a + b, 0) - failed, ...(failed > 0 ? { FAILED_PRECONDITION: failed } : {}) }, bounds: BOUNDS, buckets: served, seconds: 0 }] } : {}),
  };
}

it("turns two readings into calls per second, weighted latency and errors, and the callee's served p99", () => {
  const meter = new TrafficMeter();
  const first = meter.measure(
    new Map([
      ["front", node("front", [["calc", [seen("calc-1", 100, 2), seen("calc-2", 50, 8)]]])],
      ["calc-1", node("calc-1", [], [10, 0, 0, 0, 0])],
    ]),
    10_000,
  );
  assert.equal(first.length, 2, "a link per callee");
  assert.ok(first.every((link) => link.callsPerSecond === 0 && link.p99Ms === null), "no rates before a second reading");

  const second = meter.measure(
    new Map([
      ["front", node("front", [["calc", [seen("calc-1", 300, 4, 0.1), seen("calc-2", 50, 8)]], ["other", [seen("calc-1", 100, 1)]]])],
      ["calc-1", node("calc-1", [], [10, 0, 98, 2, 0], 25)],
    ]),
    12_000,
  );
  const toOne = second.find((link) => link.to === "calc-1")!;
  assert.equal(toOne.from, "front");
  assert.equal(toOne.callsPerSecond, 100, "200 more calls over 2 s; the new service's first reading counts no rate yet");
  assert.deepEqual(toOne.services, ["calc", "other"]);
  assert.equal(toOne.latencyMs, 4, "weighted by the calls since the last reading");
  assert.equal(toOne.errorRate, 0.25, "25 of the 100 calls calc-1 served since failed: what it served, not what the caller's balancer counts");
  assert.equal(toOne.outstanding, 2);
  // 100 calls served in between: 98 in (5 ms, 10 ms], 2 in (10 ms, 50 ms]; the 99th is in the last.
  assert.ok(toOne.p99Ms !== null && toOne.p99Ms > 10 && toOne.p99Ms <= 50, `p99 ${toOne.p99Ms}`);
  const toTwo = second.find((link) => link.to === "calc-2")!;
  assert.equal(toTwo.callsPerSecond, 0, "no new calls");
  assert.equal(toTwo.latencyMs, 8, "with no new calls, weighted by all calls so far");
  assert.equal(toTwo.p99Ms, null, "calc-2 keeps no metrics");
  assert.equal(toTwo.errorRate, null, "calc-2 keeps no metrics: its errors are unknown, not 0");
});
