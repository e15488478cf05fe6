/**
 * One node of the tracing tests, in its own process. Started with its options
 * as JSON in argv[2]: a "back" serves Back; a "front" serves Front and relays
 * each call to the back at `back` (inside a span of its own, when spans are
 * on, as an application's code would). It tells the parent `{ type: "ready" }`
 * over IPC, then answers `spans` (finished spans) and `holding` (back
 * handlers waiting to be cancelled). It exits when the parent goes away.
 */
import { trace } from "@opentelemetry/api";
import { RpcError, startNode, type Handlers } from "../../src/index.ts";
import { runIpcChild, type NodeReadyMessage } from "../support/ipc-child.ts";
import { Back, Front, registerSdk, spanRecord } from "./fixture.ts";

/** What the parent passes in argv[2]. */
export interface TracedNodeOptions {
  name: string;
  role: "front" | "back";
  /** The back's address, for a front. */
  back?: string;
  /** Register an OpenTelemetry SDK before the node starts. */
  otel: boolean;
  /** The node's `traces.recent`. */
  recent?: number;
}

export type TracedNodeRequest = { cmd: "spans" } | { cmd: "holding" };

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const options = JSON.parse(process.argv[2] ?? "{}") as TracedNodeOptions;
const exporter = options.otel ? registerSdk() : null;
let holding = 0;

process.on("disconnect", () => process.exit(0));

const backHandlers: Handlers<typeof Back> = {
  work: async ({ mode }, ctx) => {
    if (mode === "fail") throw new Error("the back failed");
    if (mode === "not-found") throw new RpcError("NOT_FOUND", "no such thing");
    if (mode === "hold") {
      holding++;
      try {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      } finally {
        holding--;
      }
    }
    return `${options.name}: ${mode}`;
  },
};

async function main(): Promise<void> {
  const node = await startNode({
    name: options.name,
    listen: "tcp://127.0.0.1:0",
    logger: silent,
    traces: { otel: options.otel, ...(options.recent === undefined ? {} : { recent: options.recent }) },
  });
  if (options.role === "back") {
    node.serve(Back, backHandlers);
  } else {
    await node.connect(options.back!);
    node.serve(Front, {
      relay: async ({ mode }, ctx) => {
        const back = ctx.client(Back);
        if (exporter === null) return back.work({ mode });
        // The application's own span: the nested call must become its child.
        return trace.getTracer("app").startActiveSpan("front-work", async (span) => {
          try {
            return await back.work({ mode });
          } finally {
            span.end();
          }
        });
      },
    });
  }
  process.on("message", (message: { seq?: number; request?: TracedNodeRequest }) => {
    if (typeof message?.seq !== "number" || !message.request) return;
    const result = message.request.cmd === "spans" ? (exporter?.getFinishedSpans().map(spanRecord) ?? []) : holding;
    process.send?.({ seq: message.seq, ok: true, result });
  });
  process.send?.({
    type: "ready",
    id: node.id,
    name: node.name,
    pid: process.pid,
    gossip: undefined,
    addresses: node.addresses,
  } satisfies NodeReadyMessage);
}

runIpcChild(`traced node ${options.name}`, false, main);
