// Structured logs: a real pino logger writing to a stream read back. Every line a node writes
// names the node; a handler's ctx.log lines carry the call's trace_id and span_id.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { z } from "zod";
import { contract, startNode, unary, type Logger, type Node } from "../../src/index.ts";
import { formatTraceparent } from "../../src/rpc/traceparent.ts";

const Greeter = contract("obs.greeter", "1.0.0", {
  hello: unary({ input: z.object({ name: z.string() }), output: z.string() }),
});

/** A pino logger whose lines land, parsed, in `lines`. */
function capturedPino(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

async function greeterNode(logger: Logger, traces?: { recent: number }): Promise<Node> {
  const node = await startNode({ name: "greeter-1", cluster: "logs-test", lookup: false, logger, ...(traces ? { traces: { ...traces, otel: false } } : {}) });
  node.serve(Greeter, {
    hello: ({ name }, ctx) => {
      ctx.log.info({ name }, "greeting");
      return `hello ${name}`;
    },
  });
  return node;
}

/** Lets pino's stream deliver what was written (a Writable calls write on a later tick when corked or busy). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("with pino: a node's own lines carry its name, id and cluster", async () => {
  const { logger, lines } = capturedPino();
  const node = await greeterNode(logger);
  try {
    node.subscribe("obs.topic", () => {
      throw new Error("the event handler broke");
    });
    node.publish("obs.topic", {});
    await settle();
    await settle();
    const line = lines.find((each) => each.msg === "event handler failed");
    assert.ok(line, `a line about the failed handler; got ${JSON.stringify(lines)}`);
    assert.deepEqual([line.node, line.node_id, line.cluster, line.level], ["greeter-1", node.id, "logs-test", 40]);
    assert.equal((line.err as { message?: string }).message, "the event handler broke");
  } finally {
    await node.close({ timeout: 500 });
  }
});

test("with pino: ctx.log lines carry the call's trace_id and span_id, the ones its recent-calls entry has", async () => {
  const { logger, lines } = capturedPino();
  const node = await greeterNode(logger, { recent: 10 });
  try {
    assert.equal(await node.client(Greeter).hello({ name: "ada" }), "hello ada");
    await settle();
    const line = lines.find((each) => each.msg === "greeting");
    assert.ok(line, "the handler's line was written");
    const served = node.recentCalls().calls.find((call) => call.kind === "server")!;
    assert.deepEqual(
      [line.trace_id, line.span_id, line.node, line.node_id, line.cluster, line.service, line.method, line.name],
      [served.traceId, served.spanId, "greeter-1", node.id, "logs-test", "obs.greeter", "hello", "ada"],
    );
  } finally {
    await node.close({ timeout: 500 });
  }
});

test("untraced: ctx.log still carries the caller's trace id from its traceparent, and no span id of its own", async () => {
  const { logger, lines } = capturedPino();
  const node = await greeterNode(logger);
  try {
    const traceparent = formatTraceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1);
    await node.client(Greeter).hello({ name: "bo" }, { meta: { traceparent } });
    await node.client(Greeter).hello({ name: "cy" });
    await settle();
    const withParent = lines.find((each) => each.name === "bo")!;
    const without = lines.find((each) => each.name === "cy")!;
    assert.equal(withParent.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(withParent.span_id, undefined);
    assert.deepEqual([without.trace_id, without.span_id, without.node], [undefined, undefined, "greeter-1"]);
  } finally {
    await node.close({ timeout: 500 });
  }
});

test("a logger without child() gets the same fields on each line", async () => {
  const lines: Array<[string, Record<string, unknown>, string | undefined]> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push([level, obj as Record<string, unknown>, msg]);
  const node = await greeterNode({ debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, { recent: 10 });
  try {
    await node.client(Greeter).hello({ name: "di" });
    const [level, fields, msg] = lines.find((each) => each[2] === "greeting")!;
    const served = node.recentCalls().calls.find((call) => call.kind === "server")!;
    assert.deepEqual([level, msg, fields.name, fields.node, fields.node_id, fields.trace_id, fields.span_id], ["info", "greeting", "di", "greeter-1", node.id, served.traceId, served.spanId]);
  } finally {
    await node.close({ timeout: 500 });
  }
});
