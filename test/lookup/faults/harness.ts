/**
 * The parent's side of the look-up fault tests: member processes (see
 * member-process.ts) started per test, asked for their view over IPC, and
 * killed in `t.after` whatever happened. Each test gets its own cluster name
 * (with the pid) and its own rendezvous folder, so tests never see each other.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { NodeChild } from "../../support/ipc-child.ts";
import { fileURLToPath } from "node:url";
import { detectionBound, FAST_MEMBERSHIP_CONFIG } from "../../../src/lookup/membership/index.ts";
import type { InstanceView, MemberOptions, MemberView, ReadyMessage, Request, SeenChange } from "./member-process.ts";

export type { CallResult, InstanceView, MemberView, SeenChange } from "./member-process.ts";

const MEMBER_SCRIPT = fileURLToPath(new URL("./member-process.ts", import.meta.url));

let clusters = 0;

/** One member process. */
export class Member extends NodeChild<Request> {
  constructor(child: ChildProcess, ready: ReadyMessage, exited: Promise<string>) {
    super("member", child, ready, exited);
  }

  members(): Promise<MemberView[]> {
    return this.request({ cmd: "members" });
  }

  lookup(service = "calculator"): Promise<InstanceView[]> {
    return this.request({ cmd: "lookup", service });
  }

  changes(): Promise<SeenChange[]> {
    return this.request({ cmd: "changes" });
  }

  /** Sends `signal` (default SIGKILL) and waits until the process is gone (at most 5 s). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    await withTimeout(this.exited, 5_000, `member ${this.name} did not exit after ${signal}`);
  }
}

/** One test's members, cluster name and rendezvous folder; all cleaned up in `t.after`. */
export class Fixture {
  readonly cluster: string;
  readonly rendezvousDir: string;
  readonly members = new Set<Member>();
  readonly #children = new Set<ChildProcess>();

  constructor(t: TestContext, tag: string) {
    this.cluster = `faults-${process.pid}-${++clusters}-${tag}`;
    this.rendezvousDir = mkdtempSync(join(tmpdir(), `amoeba-faults-${process.pid}-`));
    t.after(() => this.cleanup());
  }

  /**
   * Starts a member; resolves once it reported ready (at most 30 s: a loaded
   * machine takes a while to start node with tsx). `prefix` runs it through
   * another command, e.g. `ip netns exec <ns>`.
   */
  async start(options: Omit<MemberOptions, "cluster" | "standby"> & { cluster?: string | null }, prefix: string[] = []): Promise<Member> {
    return (await this.prepare(options, prefix)).go();
  }

  /**
   * Spawns a member that loads everything, then waits: `go()` starts its node
   * within milliseconds. Use it to restart a member as fast as a supervisor would.
   */
  async prepare(
    options: Omit<MemberOptions, "cluster" | "standby"> & { cluster?: string | null },
    prefix: string[] = [],
  ): Promise<{ go(): Promise<Member> }> {
    const { cluster, ...rest } = options;
    const full: MemberOptions = { ...rest, standby: true, ...(cluster === null ? {} : { cluster: cluster ?? this.cluster }) };
    const argv = [process.execPath, "--import", "tsx", MEMBER_SCRIPT, JSON.stringify(full)];
    const [command, ...args] = [...prefix, ...argv];
    const child = spawn(command!, args, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, AMOEBA_RENDEZVOUS_DIR: this.rendezvousDir },
    });
    this.#children.add(child);
    const exited = new Promise<string>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#children.delete(child);
        resolve(signal ?? `code ${code}`);
      });
    });
    const messages = (type: string): Promise<ReadyMessage> =>
      withTimeout(
        new Promise<ReadyMessage>((resolve, reject) => {
          child.on("message", (message: ReadyMessage | { type: "standby" }) => {
            if (message?.type === type) resolve(message as ReadyMessage);
          });
          child.once("error", reject);
          void exited.then((how) => reject(new Error(`member ${options.name} exited (${how}) before it was ${type}`)));
        }),
        30_000,
        `member ${options.name} was not ${type} within 30 s`,
      );
    await messages("standby");
    return {
      go: async () => {
        const ready = messages("ready");
        child.send({ go: true });
        const member = new Member(child, await ready, exited);
        this.members.add(member);
        return member;
      },
    };
  }

  /** Kills every member still running (SIGKILL, which also ends a stopped one) and removes the folder. */
  async cleanup(): Promise<void> {
    const children = [...this.#children];
    await Promise.all(
      children.map(async (child) => {
        const gone = new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once("exit", () => resolve());
        });
        child.kill("SIGKILL");
        await withTimeout(gone, 5_000, `a member (pid ${child.pid}) did not exit after SIGKILL`).catch(() => {});
      }),
    );
    rmSync(this.rendezvousDir, { recursive: true, force: true });
  }
}

/** Resolves with `promise`, or rejects with `message` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

/**
 * Polls `check` every `everyMs` until it returns true; resolves with the ms it
 * took, or rejects with `what` (and the last value `describe` gives) after `limitMs`.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  limitMs: number,
  options: { everyMs?: number; describe?: () => Promise<string> | string } = {},
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > limitMs) {
      const detail = options.describe ? `; last seen: ${await options.describe()}` : "";
      throw new Error(`${what}: not within ${limitMs} ms${detail}`);
    }
    await sleep(options.everyMs ?? 25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `name:state` of each member of a view, for messages. */
export function describeView(view: MemberView[]): string {
  return view.map((member) => `${member.name}(${member.id.slice(0, 8)}):${member.state}`).join(" ");
}

/** Whether `observer`'s view holds exactly `expected` (by id) alive, and nothing else alive or suspect. */
export async function seesExactly(observer: Member, expected: Member[]): Promise<boolean> {
  const view = await observer.members();
  const active = view.filter((member) => member.state === "alive" || member.state === "suspect");
  return active.length === expected.length && expected.every((m) => view.some((v) => v.id === m.id && v.state === "alive"));
}

/** Waits until every member of `group` sees exactly `group` alive. */
export async function converge(group: Member[], limitMs: number, what = "the members to see one another"): Promise<number> {
  return waitFor(
    what,
    async () => (await Promise.all(group.map((m) => seesExactly(m, group)))).every(Boolean),
    limitMs,
    {
      describe: async () =>
        (await Promise.all(group.map(async (m) => `${m.name} sees [${describeView(await m.members())}]`))).join("; "),
    },
  );
}

/** Starts `count` members named `<prefix>-<i>`, all seeded with the first, and waits until they see one another. */
export async function startCluster(
  fixture: Fixture,
  prefix: string,
  count: number,
  options: Partial<Omit<MemberOptions, "cluster" | "name">> = {},
): Promise<Member[]> {
  const first = await fixture.start({ ...options, name: `${prefix}-0` });
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, (_, i) => fixture.start({ ...options, name: `${prefix}-${i + 1}`, seeds: [first.gossip] })),
  );
  const all = [first, ...rest];
  await converge(all, 15_000);
  // Membership converging is not the end of start-up: each member's watch must
  // also list every other member's marker service now (its last change about
  // it not a removal), or a late "added" would read as a change during the test.
  await waitFor(
    "every member's watch to list every other member",
    async () =>
      (
        await Promise.all(
          all.map(async (observer) => {
            const listed = watchedNow(await observer.changes());
            return all.every((m) => m === observer || listed.get(m.id) === "alive");
          }),
        )
      ).every(Boolean),
    15_000,
    {
      describe: async () =>
        (await Promise.all(all.map(async (m) => `${m.name} watched ${describeChanges(await m.changes(), 0)}`))).join("; "),
    },
  );
  return all;
}

/** The state of each member a watch lists after `changes`: its last change, unless that was a removal. */
export function watchedNow(changes: readonly SeenChange[]): Map<string, string> {
  const listed = new Map<string, string>();
  for (const change of changes) {
    if (change.type === "removed") listed.delete(change.id);
    else listed.set(change.id, change.state);
  }
  return listed;
}

/** `name type state at +ms` of each change, for messages; times from `since`. */
export function describeChanges(changes: readonly SeenChange[], since: number): string {
  const shown = changes.map((c) => `${c.name} ${c.type} ${c.state} at ${since === 0 ? new Date(c.at).toISOString().slice(17, 23) : `+${c.at - since} ms`}`);
  return `[${shown.join(", ")}]`;
}

/** Changes a member saw about `id` from time `since` on. */
export function changesAbout(changes: SeenChange[], id: string, since = 0): SeenChange[] {
  return changes.filter((change) => change.id === id && change.at >= since);
}

/**
 * The bound assumes healthy nodes; a loaded 2-core machine runs five node
 * processes late by up to a few hundred ms each. The margin covers that, not
 * the protocol: the measured times are reported alongside.
 */
export function allowedDetection(n: number): { bound: number; allowed: number } {
  const bound = detectionBound(FAST_MEMBERSHIP_CONFIG, n);
  return { bound, allowed: bound + Math.max(1_500, bound / 2) };
}

/**
 * The LAN profile's probe timing (a probe a second, 500 ms to answer) with the
 * fast preset's gossip: for tests that look for any change of state at all. A
 * heavily loaded machine can stall a process past the fast preset's 50 ms probe
 * timeout, which would make a suspicion that no bad datagram caused.
 */
export const CALM = { probeInterval: 1_000, probeTimeout: 500 };
