/**
 * A server or a direct client (`connect()`, no look-up) in its own process,
 * for the connection fault tests (keepalive, stale calls). Options as JSON in
 * argv[2]; answers the parent over IPC (see test/support/ipc-child.ts).
 *
 * The server serves `faults.work.run`: it records, for every call whose
 * handler starts, the caller's sequence number and when it started. The client
 * calls it in a loop and records each call's outcome and when it ended.
 */
import { z } from "zod";
import { connect, contract, startNode, unary, type Node, type Peer } from "../../../src/index.ts";
import { runIpcChild } from "../../support/ipc-child.ts";

/** The service of these tests. */
export const Work = contract("faults.work", "1.0.0", {
  run: unary({ input: z.object({ seq: z.number(), pad: z.string().optional() }), output: z.number() }),
});

/** What the parent passes in argv[2]. */
export interface PeerOptions {
  name: string;
  role: "server" | "client";
  /** Server: where to listen. Client: the server's address. */
  address: string;
  /** Node limits (keepalive settings among them). */
  limits?: Record<string, number>;
}

/** A call the client made. */
export interface PeerCall {
  seq: number;
  at: number;
  end: number;
  ok: boolean;
  code?: string;
  message?: string;
}

/** A handler start the server saw. */
export interface HandlerStart {
  seq: number;
  at: number;
}

export type PeerRequest =
  | { cmd: "startCalls"; intervalMs: number; timeoutMs: number; parallel: number; padBytes?: number }
  | { cmd: "burst"; count: number; padBytes: number; timeoutMs: number }
  | { cmd: "stopCalls" }
  | { cmd: "starts" };

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const options = JSON.parse(process.argv[2] ?? "{}") as PeerOptions;
const starts: HandlerStart[] = [];
let node: Node | undefined;
let peer: Peer | undefined;
let calls: { results: PeerCall[]; stop: boolean; done: Promise<unknown> } | null = null;
let seq = 0;

process.on("disconnect", () => process.exit(0));

async function main(): Promise<void> {
  if (options.role === "server") {
    // A test host in a network namespace: listening beyond loopback with no credentials, on purpose.
    node = await startNode({ name: options.name, listen: options.address, logger: silent, insecure: true, ...(options.limits ? { limits: options.limits } : {}) });
    node.serve(Work, {
      run: ({ seq }) => {
        starts.push({ seq, at: Date.now() });
        return seq;
      },
    });
  } else {
    peer = await connect(options.address, { logger: silent, ...(options.limits ? { limits: options.limits } : {}) });
  }
  process.on("message", (message: { seq: number; request: PeerRequest }) => void answer(message.seq, message.request));
  process.send?.({ type: "ready", id: node?.id ?? "", name: options.name, pid: process.pid, gossip: undefined, addresses: node?.addresses ?? [] });
}

async function answer(id: number, request: PeerRequest): Promise<void> {
  try {
    process.send?.({ seq: id, ok: true, result: await handle(request) });
  } catch (error) {
    process.send?.({ seq: id, ok: false, error: String((error as Error)?.stack ?? error) });
  }
}

/** One call of `faults.work.run`, its outcome kept in `results`. */
async function callOnce(results: PeerCall[], pad: string | undefined, timeout: number): Promise<void> {
  const mine = ++seq;
  const at = Date.now();
  try {
    await peer!.client(Work).run(pad === undefined ? { seq: mine } : { seq: mine, pad }, { timeout });
    results.push({ seq: mine, at, end: Date.now(), ok: true });
  } catch (error) {
    const e = error as { code?: string; message?: string };
    results.push({ seq: mine, at, end: Date.now(), ok: false, code: e.code ?? "THROWN", message: e.message });
  }
}

async function handle(request: PeerRequest): Promise<unknown> {
  switch (request.cmd) {
    case "starts":
      return starts;
    case "startCalls": {
      if (calls) throw new Error("calls already running");
      const pad = request.padBytes ? "x".repeat(request.padBytes) : undefined;
      const state = { results: [] as PeerCall[], stop: false, done: Promise.resolve() as Promise<unknown> };
      // `parallel` loops, each bounded by stopCalls and a hard cap of two minutes.
      const loop = async (): Promise<void> => {
        const until = Date.now() + 120_000;
        while (!state.stop && Date.now() < until) {
          await callOnce(state.results, pad, request.timeoutMs);
          await new Promise((resolve) => setTimeout(resolve, request.intervalMs));
        }
      };
      state.done = Promise.all(Array.from({ length: request.parallel }, loop));
      calls = state;
      return null;
    }
    case "burst": {
      // `count` calls at once, not awaited: their bytes queue up behind whatever the connection holds.
      const state = calls;
      if (!state) throw new Error("no calls running");
      const pad = "x".repeat(request.padBytes);
      state.done = Promise.all([state.done, ...Array.from({ length: request.count }, () => callOnce(state.results, pad, request.timeoutMs))]);
      return null;
    }
    case "stopCalls": {
      const state = calls;
      if (!state) return [];
      state.stop = true;
      await state.done;
      calls = null;
      return state.results;
    }
  }
}

runIpcChild(`peer ${options.name}`, false, main);
