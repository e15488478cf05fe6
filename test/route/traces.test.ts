// A call from lan-a to region-b through a real `amoeba gateway --recent-calls` process is one trace:
// the caller's call, the gateway's served call and the call it sends on, the far node's served call,
// each the child of the one before, read from every node's amoeba.traces and stitched together.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HOPS_META, stitchTrace, TracesContract, VIA_META, type RecentCall, type RecentCallsReport, type TraceStep } from "../../src/index.ts";
import { formatTraceparent } from "../../src/rpc/traceparent.ts";
import { isolateRendezvous } from "../cli/support.ts";
import { rejection, waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, lookup, Regional, regional, startGatewayProcess } from "./fixture.ts";

isolateRendezvous();

/** The one entry of `kind` for `method` in a report. */
function entry(report: RecentCallsReport, kind: RecentCall["kind"], method: string): RecentCall {
  const found = report.calls.filter((call) => call.kind === kind && call.method === method);
  assert.equal(found.length, 1, `${report.node} in ${report.cluster} kept one ${kind} entry of ${method}: ${JSON.stringify(report.calls)}`);
  return found[0]!;
}

test("a call through a gateway process with --recent-calls is one trace: caller → gateway (served, then sent on) → far node", { timeout: 120_000 }, (t) =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const traces = { recent: 50, otel: false };
    const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup, traces });
    far.serve(Regional, regional("regional-1"));
    const caller = await td.node({ name: "caller", cluster: names.lanA, lookup, traces });
    const gw = await startGatewayProcess("gw-traced", { [names.lanA]: caller.gossipAddress!, [names.regionB]: far.gossipAddress! }, t.after.bind(t), ["--recent-calls", "50"]);
    await waitFor(() => caller.lookup(Regional).length === 1, 60_000, "lan-a learns the route through the gateway");
    const client = caller.client(Regional);
    const seen = await client.where({}, { timeout: 10_000 });
    assert.equal(seen.node, "regional-1");

    const [mine] = caller.recentCalls().calls;
    assert.ok(mine, "the caller kept its call");
    const traceId = mine.traceId;
    const reportOf = async (address: string, query: { traceId?: string } = { traceId }): Promise<RecentCallsReport> =>
      (await td.connect(address)).client(TracesContract).recent(query, { timeout: 5_000 });
    // The gateway's member in lan-a served the call; its member in region-b sent it on.
    const [gwIn, gwOut, farReport] = await Promise.all([reportOf(gw.addresses[names.lanA]!), reportOf(gw.addresses[names.regionB]!), reportOf(far.addresses[0]!)]);
    assert.deepEqual([gwIn.node, gwIn.cluster, gwIn.capacity, gwOut.node, gwOut.cluster, gwOut.capacity], ["gw-traced", names.lanA, 50, "gw-traced", names.regionB, 50]);
    const served = entry(gwIn, "server", "where");
    const sent = entry(gwOut, "client", "where");
    const reached = entry(farReport, "server", "where");
    assert.equal(gwIn.calls.length + gwOut.calls.length, 2, "the gateway kept the call it served and the call it sent on, nothing else");
    assert.deepEqual([mine.kind, mine.parentSpanId, mine.peer], ["client", null, "gw-traced"]);
    assert.deepEqual([served.parentSpanId, served.peer], [mine.spanId, "caller"], "the gateway's served call is a child of the caller's");
    assert.deepEqual([sent.parentSpanId, sent.peer, sent.attempts], [served.spanId, "regional-1", 1], "the call sent on is a child of the call served");
    assert.deepEqual([reached.parentSpanId, reached.peer], [sent.spanId, "gw-traced"], "the far node's served call is a child of the gateway's");
    for (const call of [served, sent, reached]) assert.deepEqual([call.traceId, call.service, call.code], [traceId, Regional.name, "OK"]);
    assert.ok(mine.durationMs >= served.durationMs && served.durationMs >= sent.durationMs && sent.durationMs >= reached.durationMs,
      `durations nest: ${mine.durationMs} ≥ ${served.durationMs} ≥ ${sent.durationMs} ≥ ${reached.durationMs}`);
    // The far handler saw the gateway's span as its parent, and the hop metadata as before.
    assert.equal(seen.meta.traceparent, formatTraceparent(traceId, sent.spanId, 1));
    assert.deepEqual([seen.meta[HOPS_META], seen.meta[VIA_META]], ["1", "gw-traced"]);

    const roots = stitchTrace([caller.recentCalls(), gwIn, gwOut, farReport], traceId);
    assert.equal(roots.length, 1, "one root: every hop kept its part");
    const path: string[] = [];
    const walk = (step: TraceStep): void => {
      path.push(`${step.node} ${step.call.kind}`);
      assert.ok(step.children.length <= 1, "one call at each hop");
      step.children.forEach(walk);
    };
    walk(roots[0]!);
    assert.deepEqual(path, ["caller client", "gw-traced server", "gw-traced client", "regional-1 server"]);

    // A stream and a failure are traced through the gateway too, with the far node's outcome.
    const counted: number[] = [];
    for await (const n of client.count({ to: 3 }, { timeout: 10_000 })) counted.push(n);
    assert.deepEqual(counted, [1, 2, 3]);
    assert.equal((await rejection(client.fail({}, { timeout: 10_000 }))).code, "FAILED_PRECONDITION");
    const [latestIn, latestOut] = await Promise.all([reportOf(gw.addresses[names.lanA]!, {}), reportOf(gw.addresses[names.regionB]!, {})]);
    for (const [method, code] of [["count", "OK"], ["fail", "FAILED_PRECONDITION"]] as const) {
      const [inbound, outbound] = [entry(latestIn, "server", method), entry(latestOut, "client", method)];
      assert.deepEqual([inbound.code, outbound.code], [code, code], method);
      assert.deepEqual([outbound.traceId, outbound.parentSpanId], [inbound.traceId, inbound.spanId], `${method}: the call sent on is a child of the call served`);
    }
  }));
