/**
 * The parent's side of the dashboard tests' member processes (see
 * fixtures/member.ts): started per test, killed in `t.after` whatever happened.
 */
import { spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { NodeChild } from "../support/ipc-child.ts";
import type { MemberOptions, MemberReady } from "./fixtures/member.ts";

const MEMBER_SCRIPT = fileURLToPath(new URL("./fixtures/member.ts", import.meta.url));
/** A loaded machine takes a while to start node with tsx. */
const START_MS = 30_000;

/** One member process. */
export class MemberProcess extends NodeChild<{ cmd: string }> {
  /** The gossip address of each of its nodes, in the order asked. */
  get gossips(): string[] {
    return (this.ready as MemberReady).gossips;
  }

  /** Kills it with SIGKILL, as a crash would, and waits until it is gone (at most 5 s). */
  async crash(): Promise<void> {
    this.child.kill("SIGKILL");
    await Promise.race([this.exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`${this.name} did not exit after SIGKILL`)), 5_000))]);
  }
}

/** Starts a member process; resolves once its nodes are up. */
export async function startMember(t: TestContext, options: MemberOptions): Promise<MemberProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MEMBER_SCRIPT, JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  let timer: NodeJS.Timeout | undefined;
  const ready = await Promise.race([
    new Promise<MemberReady>((resolve) => child.on("message", (message: MemberReady) => message?.type === "ready" && resolve(message))),
    exited.then((how) => Promise.reject(new Error(`member ${options.nodes[0]?.name} exited (${how}) before it was ready`))),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`member ${options.nodes[0]?.name} was not ready within ${START_MS} ms`)), START_MS))),
  ]).finally(() => clearTimeout(timer));
  return new MemberProcess("member", child, ready, exited);
}
