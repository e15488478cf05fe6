/**
 * The parent's side of the tracing tests: traced nodes in their own processes
 * (traced-node.ts), each killed in `t.after` whatever happened.
 */
import { spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { NodeChild, type NodeReadyMessage } from "../support/ipc-child.ts";
import type { SpanRecord } from "./fixture.ts";
import type { TracedNodeOptions, TracedNodeRequest } from "./traced-node.ts";

const SCRIPT = fileURLToPath(new URL("./traced-node.ts", import.meta.url));

/** One traced node's process. */
export class TracedNode extends NodeChild<TracedNodeRequest> {
  spans(): Promise<SpanRecord[]> {
    return this.request({ cmd: "spans" });
  }

  holding(): Promise<number> {
    return this.request({ cmd: "holding" });
  }
}

/** Starts a traced node and waits until it listens (at most 30 s). */
export async function startTracedNode(t: TestContext, options: TracedNodeOptions): Promise<TracedNode> {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const ready = await new Promise<NodeReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`traced node ${options.name} was not ready within 30 s`)), 30_000);
    child.on("message", (message: { type?: string }) => {
      if (message?.type !== "ready") return;
      clearTimeout(timer);
      resolve(message as NodeReadyMessage);
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`traced node ${options.name} exited (${how}) before it was ready`));
    });
  });
  return new TracedNode("traced node", child, ready, exited);
}

/** Polls `check` every 50 ms until it returns a value, for at most `limitMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, limitMs = 10_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
