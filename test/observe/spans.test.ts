// Spans through OpenTelemetry across processes: caller (this process) → front → back,
// each with an SDK registered, over TCP. The span tree, trace ids, status on errors, cancellation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { trace } from "@opentelemetry/api";
import { connect, isRpcError } from "../../src/index.ts";
import { Front, registerSdk, SpanKind, spanRecord, type SpanRecord } from "./fixture.ts";
import { eventually, startTracedNode, type TracedNode } from "./harness.ts";

const exporter = registerSdk();
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Every span of one trace, from this process and both children. */
async function spansOf(traceId: string, nodes: TracedNode[]): Promise<SpanRecord[]> {
  const remote = (await Promise.all(nodes.map((node) => node.spans()))).flat();
  return [...exporter.getFinishedSpans().map(spanRecord), ...remote].filter((span) => span.traceId === traceId);
}

function one(spans: SpanRecord[], name: string, kind: number): SpanRecord {
  const found = spans.filter((span) => span.name === name && span.kind === kind);
  assert.equal(found.length, 1, `one ${name} span of kind ${kind}; got ${JSON.stringify(spans.map((s) => [s.name, s.kind]))}`);
  return found[0]!;
}

/** Makes one call inside an application span of this process; the trace id and the outcome. */
async function tracedCall(call: (signal: AbortSignal) => Promise<string>, signal = new AbortController().signal) {
  return trace.getTracer("test").startActiveSpan("request", async (span) => {
    try {
      return { traceId: span.spanContext().traceId, rootId: span.spanContext().spanId, outcome: await call(signal).catch((error: unknown) => error) };
    } finally {
      span.end();
    }
  });
}

test("spans across two hops form one tree: client and server spans, the application's own span between them", async (t) => {
  const back = await startTracedNode(t, { name: "back", role: "back", otel: true });
  const front = await startTracedNode(t, { name: "front", role: "front", back: back.address, otel: true });
  const peer = await connect(front.address, { logger: silent });
  t.after(() => peer.close());
  const client = peer.client(Front);

  const { traceId, rootId, outcome } = await tracedCall(() => client.relay({ mode: "ok" }));
  assert.equal(outcome, "back: ok");
  const spans = await eventually("the back's server span", async () => {
    const all = await spansOf(traceId, [front, back]);
    return all.some((span) => span.name === "obs.back/work" && span.kind === SpanKind.SERVER) ? all : undefined;
  });

  const callerClient = one(spans, "obs.front/relay", SpanKind.CLIENT);
  const frontServer = one(spans, "obs.front/relay", SpanKind.SERVER);
  const frontWork = one(spans, "front-work", SpanKind.INTERNAL);
  const frontClient = one(spans, "obs.back/work", SpanKind.CLIENT);
  const backServer = one(spans, "obs.back/work", SpanKind.SERVER);
  assert.equal(callerClient.parentSpanId, rootId, "the caller's client span is a child of the caller's active span");
  assert.equal(frontServer.parentSpanId, callerClient.spanId, "the front's server span is a child of the caller's client span");
  assert.equal(frontWork.parentSpanId, frontServer.spanId, "the handler runs in its server span: the application's span is its child");
  assert.equal(frontClient.parentSpanId, frontWork.spanId, "the nested call's client span is a child of the active span");
  assert.equal(backServer.parentSpanId, frontClient.spanId, "the back's server span is a child of the front's client span");

  assert.deepEqual(
    { system: callerClient.attributes["rpc.system"], service: callerClient.attributes["rpc.service"], method: callerClient.attributes["rpc.method"] },
    { system: "amoeba", service: "obs.front", method: "relay" },
  );
  assert.equal(callerClient.attributes["server.address"], "127.0.0.1");
  assert.equal(callerClient.attributes["server.port"], Number(new URL(front.address.replace("tcp:", "http:")).port));
  assert.equal(callerClient.attributes["rpc.amoeba.peer"], "front");
  assert.equal(callerClient.attributes["rpc.amoeba.attempts"], 1);
  assert.equal(frontServer.attributes["rpc.amoeba.caller"], `client-${process.pid}`, "a server span names its caller");
  for (const span of [callerClient, frontServer, frontClient, backServer]) {
    assert.equal(span.attributes["rpc.response.status_code"], "OK", `${span.name} kind ${span.kind} ended OK`);
    assert.equal(span.status, 0, `${span.name} kind ${span.kind} has no error status`);
  }
  // The caller waited for the whole path: its span lasts at least as long as the back's.
  assert.ok(callerClient.durationMs >= backServer.durationMs, `client ${callerClient.durationMs} ms ≥ back ${backServer.durationMs} ms`);
});

test("a failure marks the spans on its path with its code; a caller's error is an error only on the client side", async (t) => {
  const back = await startTracedNode(t, { name: "back", role: "back", otel: true });
  const front = await startTracedNode(t, { name: "front", role: "front", back: back.address, otel: true });
  const peer = await connect(front.address, { logger: silent });
  t.after(() => peer.close());
  const client = peer.client(Front);

  const failed = await tracedCall(() => client.relay({ mode: "fail" }));
  assert.ok(isRpcError(failed.outcome) && failed.outcome.code === "INTERNAL", `the caller gets INTERNAL: ${String(failed.outcome)}`);
  const spans = await eventually("the failed trace's spans", async () => {
    const all = await spansOf(failed.traceId, [front, back]);
    return all.length >= 5 ? all : undefined;
  });
  for (const [name, kind] of [["obs.front/relay", SpanKind.CLIENT], ["obs.front/relay", SpanKind.SERVER], ["obs.back/work", SpanKind.CLIENT], ["obs.back/work", SpanKind.SERVER]] as const) {
    const span = one(spans, name, kind);
    assert.equal(span.attributes["rpc.response.status_code"], "INTERNAL", `${name} kind ${kind}`);
    assert.equal(span.status, 2, `${name} kind ${kind} has an error status`);
    assert.match(span.statusMessage ?? "", /the back failed/);
  }

  const missing = await tracedCall(() => client.relay({ mode: "not-found" }));
  assert.ok(isRpcError(missing.outcome) && missing.outcome.code === "NOT_FOUND");
  const notFound = await eventually("the NOT_FOUND trace's spans", async () => {
    const all = await spansOf(missing.traceId, [front, back]);
    return all.length >= 5 ? all : undefined;
  });
  const backServer = one(notFound, "obs.back/work", SpanKind.SERVER);
  const frontClient = one(notFound, "obs.back/work", SpanKind.CLIENT);
  assert.equal(backServer.attributes["rpc.response.status_code"], "NOT_FOUND");
  assert.equal(backServer.status, 0, "NOT_FOUND is the caller's problem: no error status on the server span");
  assert.equal(frontClient.status, 2, "the client span of a failed call has an error status");
});

test("cancelling a call ends the spans on every hop with CANCELLED", async (t) => {
  const back = await startTracedNode(t, { name: "back", role: "back", otel: true });
  const front = await startTracedNode(t, { name: "front", role: "front", back: back.address, otel: true });
  const peer = await connect(front.address, { logger: silent });
  t.after(() => peer.close());
  const client = peer.client(Front);

  const abort = new AbortController();
  const pending = tracedCall((signal) => client.relay({ mode: "hold" }, { signal, timeout: 20_000 }), abort.signal);
  await eventually("the back to hold the call", async () => ((await back.holding()) === 1 ? true : undefined));
  abort.abort();
  const { traceId, outcome } = await pending;
  assert.ok(isRpcError(outcome) && outcome.code === "CANCELLED", `the caller gets CANCELLED: ${String(outcome)}`);

  const spans = await eventually("the back's server span to end", async () => {
    const all = await spansOf(traceId, [front, back]);
    return all.some((span) => span.name === "obs.back/work" && span.kind === SpanKind.SERVER) ? all : undefined;
  });
  const callerClient = one(spans, "obs.front/relay", SpanKind.CLIENT);
  assert.equal(callerClient.attributes["rpc.response.status_code"], "CANCELLED");
  assert.equal(callerClient.status, 2);
  assert.equal(one(spans, "obs.back/work", SpanKind.SERVER).attributes["rpc.response.status_code"], "CANCELLED", "the back saw the cancellation");
});
