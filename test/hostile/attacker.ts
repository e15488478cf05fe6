/**
 * A hostile peer in a process of its own, so that its work (writing a
 * gigabyte, building huge CALLs) neither slows the well-behaved caller nor
 * counts in the memory of the node under attack, which both live in the test
 * process. Started by `startAttacker` (below) with fork(); it reports what
 * happened by IPC and stays connected until killed.
 *
 * Attacks:
 * - `withhold`: `connections` connections, each a HELLO then a CALL declaring
 *   `declared` bytes, all sent but the last byte.
 * - `meta`: `calls` CALLs on one connection, each with `entries` metadata
 *   entries, one after the other's answer.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Packr } from "msgpackr";
import { FrameKind, HEADER_SIZE, writeHeader } from "../../src/wire/index.ts";
import { RawPeer } from "./raw-peer.ts";

/** What to do. */
export type Attack =
  | { kind: "withhold"; address: string; connections: number; declared: number }
  | { kind: "meta"; address: string; calls: number; entries: number };

/** What the attacker saw. */
export interface AttackReport {
  /** Connections the node accepted (its HELLO came). */
  accepted: number;
  /** Connections the node closed, by the GOAWAY code it sent (-1: closed without one). */
  closedBy: Record<string, number>;
  /** GOAWAY messages seen, one of each. */
  messages: string[];
  /** meta: the ERROR code of each call, and its time from sending to the answer (ms). */
  answers: Array<{ code: unknown; message: unknown; ms: number }>;
}

// Amoeba's encoder refuses maps over 65,535 entries; a hostile peer's need not.
const wide = new Packr({ useRecords: false, variableMapSize: true });

function frame(kind: number, id: number, body: unknown): Buffer {
  const bytes = wide.pack(body);
  const out = Buffer.alloc(HEADER_SIZE + bytes.length);
  writeHeader(out, 0, kind as FrameKind, id, bytes.length);
  bytes.copy(out, HEADER_SIZE);
  return out;
}

async function withhold(attack: Extract<Attack, { kind: "withhold" }>, report: AttackReport): Promise<RawPeer[]> {
  const body = Buffer.alloc(attack.declared - HEADER_SIZE, 0x01);
  const head = Buffer.alloc(HEADER_SIZE);
  writeHeader(head, 0, FrameKind.Call, 1, body.length);
  const partial = Buffer.concat([head, body.subarray(0, body.length - 1)]);
  const peers: RawPeer[] = [];
  // A few at a time: the point is many connections open together, not a connect storm.
  for (let i = 0; i < attack.connections; i += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, attack.connections - i) }, async () => {
        const peer = await RawPeer.connect(attack.address);
        peer.sendHello();
        return peer;
      }),
    );
    for (const peer of batch) {
      peers.push(peer);
      peer.write(partial);
    }
  }
  // Wait until every socket wrote what it could (or was closed).
  const started = Date.now();
  while (Date.now() - started < 60_000 && peers.some((p) => !p.closed && p.socket.writableLength > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  tally(peers, report);
  return peers;
}

async function meta(attack: Extract<Attack, { kind: "meta" }>, report: AttackReport): Promise<RawPeer[]> {
  const entries: Record<string, string> = {};
  for (let i = 0; i < attack.entries; i++) entries[`k${i}`] = "v";
  const peer = await RawPeer.handshaken(attack.address);
  // Encoded once; each call patches its id into the header.
  const bytes = frame(FrameKind.Call, 1, ["calculator", "add", null, null, entries, { a: 1, b: 2 }, 0, 0]);
  for (let i = 0; i < attack.calls; i++) {
    const id = 2 * i + 1;
    bytes.writeUInt32BE(id, 5);
    const sent = performance.now();
    peer.write(bytes);
    const error = await peer.errorOf(id, 30_000);
    report.answers.push({ code: error[0], message: error[1], ms: performance.now() - sent });
  }
  tally([peer], report);
  return [peer];
}

function tally(peers: RawPeer[], report: AttackReport): void {
  for (const peer of peers) {
    if (peer.frames.some((f) => f.kind === FrameKind.Hello)) report.accepted++;
    if (!peer.closed && !peer.ended) continue;
    const goAway = peer.goAway();
    const code = String(goAway?.[0] ?? -1);
    report.closedBy[code] = (report.closedBy[code] ?? 0) + 1;
    if (goAway && !report.messages.includes(goAway[1])) report.messages.push(goAway[1]);
  }
}

/** A running attacker process. */
export interface Attacker {
  /** Resolves with the report once the attack was carried out. */
  readonly done: Promise<AttackReport>;
  /** Kills it (its connections close). */
  kill(): Promise<void>;
}

/** Forks an attacker carrying out `attack`. */
export function startAttacker(attack: Attack): Attacker {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(attack)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const done = new Promise<AttackReport>((resolve, reject) => {
    child.once("message", (message) => resolve(message as AttackReport));
    child.once("exit", (code) => reject(new Error(`the attacker exited (${code}) before reporting`)));
  });
  done.catch(() => {});
  return {
    done,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const attack = JSON.parse(process.argv[2] ?? "{}") as Attack;
  const report: AttackReport = { accepted: 0, closedBy: {}, messages: [], answers: [] };
  const run = attack.kind === "withhold" ? withhold(attack, report) : meta(attack, report);
  run.then(
    (peers) => {
      process.send!(report);
      // Hold the connections until killed.
      setInterval(() => peers.length, 1_000);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
  process.on("disconnect", () => process.exit(0));
}
