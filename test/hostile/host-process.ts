/**
 * A process on a test host of its own (a network namespace, started through
 * `ip netns exec`), driven by the test over IPC (test/support/ipc-child.ts):
 * either a well-behaved caller whose latency is sampled as test/hostile's
 * other tests sample it, or a hostile peer speaking raw frames from that
 * host — with no cluster key, with a nonce it cannot back with a PROOF, or
 * holding the key as a compromised member would.
 *
 * Every attack keeps the connections it opened until `release` (or until the
 * process is killed), and reports what the node under attack did with them.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { Packr } from "msgpackr";
import { Calculator } from "../../examples/calculator/service.ts";
import { connect, STATUS_CODES, type Client, type MemberRecord, type Peer } from "../../src/index.ts";
import { ConnectionKey } from "../../src/rpc/connection-proof.ts";
import { FrameKind, HEADER_SIZE, writeHeader, type Frame } from "../../src/wire/index.ts";
import { runIpcChild } from "../support/ipc-child.ts";
import type { Fixture } from "./harness.ts";
import { sampleLatency } from "./latency.ts";
import { RawPeer, waitUntil } from "./raw-peer.ts";

/** How a raw connection opens. */
export type Opening =
  /** A HELLO without a nonce: an outsider that does not pretend to hold a key. */
  | "plain"
  /** A HELLO with a nonce and nothing after it: an outsider posing as a member, so that the node waits for its PROOF. */
  | "nonce"
  /** HELLO, then a PROOF under `key`: a member's handshake, done by a compromised member. */
  | "proof";

export type HostRequest =
  /** Caller: connects to `address` (with `key` when given) and checks one call. */
  | { cmd: "connect"; address: string; key?: string }
  /** Caller: `count` sequential calls' latencies (ms) to the node at `address` (connected first). */
  | { cmd: "sample"; address: string; count: number; maxMs: number }
  /** Caller: starts sampling the node at `address`, at least `count` calls, until `stopSampling` (at most `maxMs`). */
  | { cmd: "startSampling"; address: string; count: number; maxMs: number }
  /** Caller: stops the sampling `startSampling` began, and returns its latencies. */
  | { cmd: "stopSampling" }
  /**
   * `perAddress` connections from each of `from` (local addresses of this host), each opened as
   * `opening`, then a CALL declaring `declared` bytes, sent but its last byte.
   */
  | { cmd: "withhold"; tag: string; address: string; from: string[]; perAddress: number; declared: number; opening: Opening; key?: string }
  /** `calls` CALLs with `entries` metadata entries: one after the other's answer on one proved connection (`proof`), or each in place of the PROOF on a connection of its own (`nonce`). */
  | { cmd: "meta"; tag: string; address: string; calls: number; entries: number; opening: "nonce" | "proof"; key?: string }
  /** `first.count` connections from `first.from`, then `perAddress` from each of `from` (local addresses of this host) together, each opened as `opening` (none: sending nothing). */
  | { cmd: "flood"; tag: string; address: string; first: { from: string; count: number }; from: string[]; perAddress: number; opening?: Opening; key?: string }
  /** What became of the connections attack `tag` still held: waits until every one was closed, or `maxMs`. */
  | { cmd: "whenClosed"; tag: string; maxMs: number }
  /** Destroys every connection attack `tag` still holds. */
  | { cmd: "release"; tag: string }
  /** A TCP listener on `host` that counts who connects to it: where a hijacked record would send callers. */
  | { cmd: "trap"; host: string }
  /** Connections the trap took so far. */
  | { cmd: "trapped" }
  /** Tries to rewrite a node's record at the registry at `address`, over TLS with `tls` (or plain TCP without). */
  | { cmd: "registry"; address: string; tls?: { ca: string; cert?: string; key?: string }; victim: string; trap: string };

/** One connection of an attack, as the attacker saw it. */
export interface Seen {
  /** The node's HELLO came: the connection was admitted. */
  admitted: boolean;
  /** ms since the attack began: when the node's HELLO (or GOAWAY) came, and when the node closed it (null: still open). */
  answeredAt: number | null;
  closedAt: number | null;
  /** ms from the first byte of the withheld frame to the close. */
  frameHeldMs: number | null;
  /** The node's GOAWAY, if it sent one. */
  goAway: { code: number; message: string } | null;
  /** The local address it came from. */
  from: string;
}

/** What an attack saw, connection by connection, with the answers to its calls. */
export interface AttackReport {
  seen: Seen[];
  /** meta: each call's outcome (an ERROR's code and message, or a GOAWAY's), with its time from sending to the answer (ms). */
  answers: Array<{ via: "error" | "goaway" | "result" | "none"; code: unknown; message: unknown; ms: number }>;
  /** ms the attack took to open and send everything. */
  tookMs: number;
}

/** What a registry attack saw: each write's outcome, or how the connection failed. */
export interface RegistryReport {
  /** The victim's record as the registry listed it to the attacker (null when it could not read it). */
  victim: unknown;
  attempts: Array<{ what: string; outcome: string }>;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
// Amoeba's encoder refuses maps over 65,535 entries; a hostile peer's need not (as test/hostile/attacker.ts).
const wide = new Packr({ useRecords: false, variableMapSize: true });

/** The caller's connections, by the address of the node. */
const callers = new Map<string, { peer: Peer; calc: Client<typeof Calculator> }>();
let sampling: { stop: () => void; done: Promise<number[]> } | undefined;
/** A connection of an attack: `since` is when its withheld frame began (ms since the epoch). */
interface Held {
  peer: RawPeer;
  seen: Seen;
  since: number;
}
/** The connections of each attack, by tag, until released. */
const attacks = new Map<string, { start: number; held: Held[] }>();
let trap: { server: net.Server; count: number } | undefined;

function wideFrame(kind: number, id: number, body: unknown): Buffer {
  const bytes = wide.pack(body);
  const out = Buffer.alloc(HEADER_SIZE + bytes.length);
  writeHeader(out, 0, kind as FrameKind, id, bytes.length);
  bytes.copy(out, HEADER_SIZE);
  return out;
}

/** A raw TCP connection to `address` from `localAddress`, watched from its first byte; times are ms since `attackStart`. */
async function rawConnection(attackStart: number, address: string, localAddress?: string, timeout = 10_000): Promise<{ peer: RawPeer; seen: Seen }> {
  const url = new URL(address);
  const socket = net.connect({ host: url.hostname, port: Number(url.port), ...(localAddress ? { localAddress } : {}) });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${address} within ${timeout} ms`)), timeout);
    socket.once("connect", () => (clearTimeout(timer), resolve()));
    socket.once("error", (error) => (clearTimeout(timer), reject(error)));
  });
  const peer = RawPeer.accepted(socket);
  const seen: Seen = { admitted: false, answeredAt: null, closedAt: null, frameHeldMs: null, goAway: null, from: localAddress ?? socket.localAddress ?? "?" };
  socket.on("data", () => {
    if (seen.answeredAt !== null) return;
    const first = peer.frames[0];
    if (!first) return;
    seen.answeredAt = Date.now() - attackStart;
    seen.admitted = first.kind === FrameKind.Hello;
  });
  void peer.whenClosed().then(() => {
    seen.closedAt = Date.now() - attackStart;
    const goAway = peer.goAway();
    if (goAway) seen.goAway = { code: goAway[0], message: goAway[1] };
  });
  return { peer, seen };
}

/** Opens the connection as `opening` says; resolves once this end may send calls (for `proof`), or at once. */
async function open(peer: RawPeer, id: string, opening: Opening, key?: string): Promise<void> {
  if (opening === "plain") return peer.sendHello({ node: { id, name: id } });
  const proof = key === undefined ? undefined : new ConnectionKey(key);
  const nonce = randomBytes(16).toString("hex");
  peer.sendHello({ node: { id, name: id }, nonce });
  if (opening === "nonce") return;
  const hello = await peer.waitForFrame((frame) => frame.kind === FrameKind.Hello, "the node's HELLO", 10_000);
  const theirs = (hello.body as { nonce?: string }).nonce;
  if (proof === undefined || theirs === undefined) throw new Error("a proof needs the key and the node's nonce");
  peer.send(FrameKind.Proof, 0, proof.prove("dialer", theirs, nonce, id));
  await peer.waitForFrame((frame) => frame.kind === FrameKind.Proof, "the node's PROOF", 10_000);
}

async function withhold(request: Extract<HostRequest, { cmd: "withhold" }>, start: number, held: Held[]): Promise<AttackReport> {
  const started = Date.now();
  const body = Buffer.alloc(request.declared - HEADER_SIZE, 0x01);
  const head = Buffer.alloc(HEADER_SIZE);
  writeHeader(head, 0, FrameKind.Call, 1, body.length);
  const partial = Buffer.concat([head, body.subarray(0, body.length - 1)]);
  // A few at a time from each address, as test/hostile/attacker.ts: many connections open together, not a connect storm.
  await Promise.all(
    request.from.map(async (from, f) => {
      for (let i = 0; i < request.perAddress; i += 16) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(16, request.perAddress - i) }, async (_, j) => {
            const connection = await rawConnection(start, request.address, from).catch(() => undefined);
            if (connection) await open(connection.peer, `withholder-${f}-${i + j}`, request.opening, request.key).catch(() => {});
            return connection;
          }),
        );
        for (const connection of batch) {
          if (!connection) continue;
          held.push({ ...connection, since: Date.now() });
          connection.peer.write(partial);
        }
      }
    }),
  );
  // Until every socket wrote what it could, or was closed (bounded).
  while (Date.now() - started < 60_000 && held.some(({ peer }) => !peer.closed && peer.socket.writableLength > 0)) await sleep(50);
  await sleep(300);
  return report(start, held, [], Date.now() - started);
}

async function meta(request: Extract<HostRequest, { cmd: "meta" }>, start: number, held: Held[]): Promise<AttackReport> {
  const started = Date.now();
  const entries: Record<string, string> = {};
  for (let i = 0; i < request.entries; i++) entries[`k${i}`] = "v";
  // Encoded once; each call patches its id into the header.
  const bytes = wideFrame(FrameKind.Call, 1, ["calculator", "add", null, null, entries, { a: 1, b: 2 }, 0, 0]);
  const answers: AttackReport["answers"] = [];
  let proved: RawPeer | undefined;
  for (let i = 0; i < request.calls; i++) {
    let peer = proved;
    if (peer === undefined) {
      const connection = await rawConnection(start, request.address);
      held.push({ ...connection, since: Date.now() });
      peer = connection.peer;
      await open(peer, `meta-${i}`, request.opening, request.key);
      if (request.opening === "proof") proved = peer;
    }
    const id = 2 * i + 1;
    bytes.writeUInt32BE(id, 5);
    const sent = performance.now();
    peer.write(bytes);
    const target = peer;
    const outcome = await target
      .waitForFrame((frame) => (frame.id === id && (frame.kind === FrameKind.Error || frame.kind === FrameKind.Result)) || frame.kind === FrameKind.GoAway, `the answer to CALL ${id}`, 10_000)
      .catch(() => undefined);
    answers.push(answerOf(outcome, performance.now() - sent));
  }
  return report(start, held, answers, Date.now() - started);
}

function answerOf(frame: Frame | undefined, ms: number): AttackReport["answers"][number] {
  if (frame === undefined) return { via: "none", code: null, message: null, ms };
  const body = frame.body as unknown[];
  if (frame.kind === FrameKind.Result) return { via: "result", code: null, message: JSON.stringify(body).slice(0, 200), ms };
  return { via: frame.kind === FrameKind.GoAway ? "goaway" : "error", code: body[0], message: body[1], ms };
}

async function flood(request: Extract<HostRequest, { cmd: "flood" }>, start: number, held: Held[]): Promise<AttackReport> {
  const started = Date.now();
  const openFrom = async (from: string, count: number): Promise<void> => {
    for (let i = 0; i < count; i += 32) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(32, count - i) }, async (_, j) => {
          const connection = await rawConnection(start, request.address, from).catch(() => undefined);
          if (connection && request.opening) await open(connection.peer, `flooder-${from}-${i + j}`, request.opening, request.key).catch(() => {});
          return connection;
        }),
      );
      for (const connection of batch) if (connection) held.push({ ...connection, since: Date.now() });
    }
  };
  await openFrom(request.first.from, request.first.count);
  await Promise.all(request.from.map((from) => openFrom(from, request.perAddress)));
  // Every connection answered (HELLO or GOAWAY) or closed, bounded.
  await waitUntil(() => held.every(({ seen }) => seen.answeredAt !== null || seen.closedAt !== null), "an answer on every connection", 20_000).catch(() => {});
  return report(start, held, [], Date.now() - started);
}

function report(start: number, held: Held[], answers: AttackReport["answers"], tookMs: number): AttackReport {
  for (const entry of held) {
    if (entry.seen.closedAt !== null && entry.seen.frameHeldMs === null) entry.seen.frameHeldMs = entry.seen.closedAt + start - entry.since;
  }
  return { seen: held.map(({ seen }) => seen), answers, tookMs };
}

async function registry(request: Extract<HostRequest, { cmd: "registry" }>): Promise<RegistryReport> {
  const attempts: RegistryReport["attempts"] = [];
  const peers: RawPeer[] = [];
  try {
    return await rewrite(request, attempts, peers);
  } finally {
    for (const peer of peers) peer.destroy();
  }
}

async function rewrite(request: Extract<HostRequest, { cmd: "registry" }>, attempts: RegistryReport["attempts"], peers: RawPeer[]): Promise<RegistryReport> {
  const url = new URL(request.address);
  const dial = async (id: string): Promise<RawPeer> => {
    const options = { host: url.hostname, port: Number(url.port) };
    const socket = request.tls
      ? tls.connect({ ...options, ca: request.tls.ca, ...(request.tls.cert ? { cert: request.tls.cert, key: request.tls.key } : {}) })
      : net.connect(options);
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no connection within 10 s")), 10_000);
      socket.once(request.tls ? "secureConnect" : "connect", () => (clearTimeout(timer), resolve()));
      socket.once("error", (error) => (clearTimeout(timer), reject(error)));
      socket.once("close", () => (clearTimeout(timer), reject(new Error("closed before the connection was up"))));
    });
    const peer = RawPeer.accepted(socket);
    peers.push(peer);
    peer.sendHello({ node: { id, name: id } });
    await peer.waitForFrame((frame) => frame.kind === FrameKind.Hello, "the registry's HELLO", 5_000);
    return peer;
  };
  const errorOf = (error: unknown): string => String((error as Error)?.message ?? error).slice(0, 300);
  let nextId = 1;
  const call = async (peer: RawPeer, method: string, input: unknown): Promise<{ ok: true; value: unknown } | { ok: false; outcome: string }> => {
    const id = (nextId += 2);
    peer.sendCall(id, "amoeba.registry", method, input);
    const frame = await peer.outcome(id, 5_000);
    const body = frame.body as unknown[];
    if (frame.kind === FrameKind.Result) return { ok: true, value: body[0] };
    return { ok: false, outcome: `${codeName(body[0])}: ${String(body[1])}` };
  };
  // Read the victim's record, as any member could.
  let victim: MemberRecord | null = null;
  try {
    const reader = await dial("registry-reader");
    const listed = await call(reader, "members", {});
    if (listed.ok) victim = (listed.value as Array<{ record: MemberRecord }>).find((member) => member.record.name === request.victim)?.record ?? null;
    else attempts.push({ what: "members", outcome: listed.outcome });
  } catch (error) {
    attempts.push({ what: "members", outcome: `no connection: ${errorOf(error)}` });
  }
  // Claim the victim's id in the handshake (an id is claimed, not proved), then write its record.
  const id = victim?.id ?? "an-id-the-attacker-could-not-read";
  const base: MemberRecord = victim ?? { id, name: request.victim, cluster: "", gossip: "", addresses: [], labels: {}, services: [["calculator", "1.2.0"]], load: 0 };
  const writes: Array<[string, string, unknown]> = [
    ["register a fake calculator under the victim's id, at the trap", "register", { record: { ...base, id, addresses: [request.trap] }, ttl: 3_600_000 }],
    ["refresh the victim's record as it is", "register", { record: { ...base, id }, ttl: 3_600_000 }],
    ["deregister the victim", "deregister", { id }],
  ];
  let writer: RawPeer | undefined;
  for (const [what, method, input] of writes) {
    try {
      writer ??= await dial(id);
      const outcome = await call(writer, method, input);
      attempts.push({ what, outcome: outcome.ok ? `OK ${JSON.stringify(outcome.value)}` : outcome.outcome });
    } catch (error) {
      attempts.push({ what, outcome: `no connection: ${errorOf(error)}` });
      writer = undefined;
    }
  }
  return { victim, attempts };
}

/** A status number's name (16 → UNAUTHENTICATED). */
function codeName(code: unknown): string {
  return Object.entries(STATUS_CODES).find(([, number]) => number === code)?.[0] ?? `code ${String(code)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function handle(request: HostRequest): Promise<unknown> {
  switch (request.cmd) {
    case "connect": {
      const peer = await connect(request.address, { logger: silent, ...(request.key ? { clusterKey: request.key } : {}) });
      const calc = peer.client(Calculator);
      if ((await calc.add({ a: 1, b: 1 }, { timeout: 5_000 })) !== 2) throw new Error("the node answered 1 + 1 wrongly");
      callers.set(request.address, { peer, calc });
      return null;
    }
    case "sample":
      return sampleLatency(callerFixture(request.address), { count: request.count, maxMs: request.maxMs });
    case "startSampling": {
      let stop = (): void => {};
      const until = new Promise<void>((resolve) => (stop = resolve));
      sampling = { stop, done: sampleLatency(callerFixture(request.address), { count: request.count, until, maxMs: request.maxMs }) };
      sampling.done.catch(() => {});
      return null;
    }
    case "stopSampling": {
      const running = sampling;
      sampling = undefined;
      if (!running) throw new Error("no sampling running");
      running.stop();
      return running.done;
    }
    case "withhold":
    case "meta":
    case "flood": {
      if (attacks.has(request.tag)) throw new Error(`attack ${request.tag} is running`);
      const attack = { start: Date.now(), held: [] as Held[] };
      attacks.set(request.tag, attack);
      const run = request.cmd === "withhold" ? withhold : request.cmd === "meta" ? meta : flood;
      return run(request as never, attack.start, attack.held);
    }
    case "whenClosed": {
      const attack = attacks.get(request.tag);
      if (!attack) throw new Error(`no attack ${request.tag}`);
      await waitUntil(() => attack.held.every(({ peer }) => peer.closed), "every connection to be closed", request.maxMs).catch(() => {});
      return report(attack.start, attack.held, [], Date.now() - attack.start);
    }
    case "release":
      for (const { peer } of attacks.get(request.tag)?.held ?? []) peer.destroy();
      attacks.delete(request.tag);
      return null;
    case "trap": {
      const server = net.createServer((socket) => {
        trap!.count++;
        socket.destroy();
      });
      trap = { server, count: 0 };
      await new Promise<void>((resolve) => server.listen(0, request.host, resolve));
      return (server.address() as net.AddressInfo).port;
    }
    case "trapped":
      return trap?.count ?? 0;
    case "registry":
      return registry(request);
  }
}

/** sampleLatency's view of a fixture: it only calls `calc`. */
function callerFixture(address: string): Fixture {
  const caller = callers.get(address);
  if (!caller) throw new Error(`connect to ${address} first`);
  return { calc: caller.calc } as Pick<Fixture, "calc"> as Fixture;
}

runIpcChild("host process", false, async () => {
  process.on("disconnect", () => process.exit(0));
  process.on("message", (message: { seq: number; request: HostRequest }) => {
    if (typeof message?.seq !== "number") return;
    handle(message.request).then(
      (result) => process.send?.({ seq: message.seq, ok: true, result }),
      (error: unknown) => process.send?.({ seq: message.seq, ok: false, error: String((error as Error)?.stack ?? error) }),
    );
  });
  process.send?.({ type: "ready", name: process.argv[2] ?? "host", pid: process.pid });
});
