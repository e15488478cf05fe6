// OpenTelemetry spans through a gateway, every node in this process (one SDK sees all spans):
// caller → gateway → far node over TCP, the gateway's own client span between its server span and the far one.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { trace } from "@opentelemetry/api";
import { HOPS_META } from "../../src/index.ts";
import { clusterNames, gateway, lookup, Regional, regional, useRendezvous } from "../route/fixture.ts";
import { waitFor, withTeardown } from "../rpc/support.ts";
import { registerSdk, SpanKind, spanRecord, type SpanRecord } from "./fixture.ts";

const exporter = registerSdk();
let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

/** The one span of `kind` for `where` whose `attribute` names `node`. */
function spanOf(spans: SpanRecord[], kind: number, attribute: string, node: string): SpanRecord {
  const found = spans.filter((span) => span.name === `${Regional.name}/where` && span.kind === kind && span.attributes[attribute] === node);
  assert.equal(found.length, 1, `one ${attribute}=${node} span of kind ${kind}; got ${JSON.stringify(spans.map((s) => [s.name, s.kind, s.attributes[attribute]]))}`);
  return found[0]!;
}

test("a gateway's client span is the child of its server span and the parent of the far node's server span", () =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    far.serve(Regional, regional("regional-1"));
    const caller = await td.node({ name: "caller", cluster: names.lanA, lookup });
    const gw = await gateway(td, {
      name: "gw-otel",
      join: { [names.lanA]: { seeds: [caller.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } },
      traces: { otel: true, recent: 10 },
    });
    await waitFor(() => caller.lookup(Regional).length === 1, 15_000, "lan-a learns the route through the gateway");

    const { traceId, rootId, seen } = await trace.getTracer("test").startActiveSpan("request", async (span) => {
      try {
        return { traceId: span.spanContext().traceId, rootId: span.spanContext().spanId, seen: await caller.client(Regional).where({}, { timeout: 10_000 }) };
      } finally {
        span.end();
      }
    });
    assert.equal(seen.meta[HOPS_META], "1");
    const spans = exporter.getFinishedSpans().map(spanRecord).filter((span) => span.traceId === traceId);
    const callerClient = spanOf(spans, SpanKind.CLIENT, "rpc.amoeba.peer", "gw-otel");
    const gatewayServer = spanOf(spans, SpanKind.SERVER, "rpc.amoeba.caller", "caller");
    const gatewayClient = spanOf(spans, SpanKind.CLIENT, "rpc.amoeba.peer", "regional-1");
    const farServer = spanOf(spans, SpanKind.SERVER, "rpc.amoeba.caller", "gw-otel");
    assert.equal(callerClient.parentSpanId, rootId, "the caller's span is a child of the application's");
    assert.equal(gatewayServer.parentSpanId, callerClient.spanId, "the gateway's server span is a child of the caller's client span");
    assert.equal(gatewayClient.parentSpanId, gatewayServer.spanId, "the gateway's client span is a child of its server span");
    assert.equal(farServer.parentSpanId, gatewayClient.spanId, "the far node's server span is a child of the gateway's client span");
    assert.equal(seen.meta.traceparent, `00-${traceId}-${gatewayClient.spanId}-01`, "the far handler got the gateway's client span as its parent");
    assert.equal(gatewayClient.attributes["server.port"], Number(new URL(far.addresses[0]!.replace("tcp:", "http:")).port), "the gateway's span says where the call went");
    for (const span of [callerClient, gatewayServer, gatewayClient, farServer]) assert.equal(span.attributes["rpc.response.status_code"], "OK");

    // The gateway's members keep the same calls in their rings, under the spans' ids.
    const [served] = gw.node(names.lanA).recentCalls({ traceId }).calls;
    const [sent] = gw.node(names.regionB).recentCalls({ traceId }).calls;
    assert.deepEqual([served?.kind, served?.spanId, served?.parentSpanId], ["server", gatewayServer.spanId, callerClient.spanId]);
    assert.deepEqual([sent?.kind, sent?.spanId, sent?.parentSpanId], ["client", gatewayClient.spanId, gatewayServer.spanId]);
  }));
