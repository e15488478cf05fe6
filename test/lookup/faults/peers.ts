/** Starts peer-process.ts children (a server, a direct client), killed in `t.after`. */
import { spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { NodeChild } from "../../support/ipc-child.ts";
import { withTimeout } from "./harness.ts";
import type { PeerOptions, PeerRequest } from "./peer-process.ts";

export type { HandlerStart, PeerCall } from "./peer-process.ts";

const SCRIPT = fileURLToPath(new URL("./peer-process.ts", import.meta.url));

/** One peer process. */
export class PeerChild extends NodeChild<PeerRequest> {}

/** Starts a peer process (through `prefix`, e.g. `ip netns exec <ns>`); resolves once it is ready (at most 30 s). */
export async function startPeer(t: TestContext, options: PeerOptions, prefix: string[] = []): Promise<PeerChild> {
  const [command, ...args] = [...prefix, process.execPath, "--import", "tsx", SCRIPT, JSON.stringify(options)];
  const child = spawn(command!, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  t.after(async () => {
    child.kill("SIGKILL");
    await withTimeout(exited, 5_000, `peer ${options.name} did not exit`).catch(() => {});
  });
  const ready = await withTimeout(
    new Promise<never>((resolve, reject) => {
      child.on("message", (message: { type?: string }) => {
        if (message?.type === "ready") resolve(message as never);
      });
      void exited.then((how) => reject(new Error(`peer ${options.name} exited (${how}) before it was ready`)));
    }),
    30_000,
    `peer ${options.name} was not ready within 30 s`,
  );
  return new PeerChild("peer", child, ready, exited);
}
