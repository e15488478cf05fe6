// The NATS engine's virtual connections under stress: hostile messages on a
// node's inbox, a node that is not there, a small max_payload, a NATS server
// that dies and comes back, and credentials.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test, type TestContext } from "node:test";
import { connect as natsConnect, nkeys, type Msg } from "@nats-io/transport-node";
import { z } from "zod";
import { AmoebaError, connect, contract, NoRespondersError, startNode, unary, type Node } from "../../src/index.ts";
import { nats } from "../../src/nats/index.ts";
import { FrameDecoder, FrameKind, DEFAULT_WIRE_LIMITS, type Frame } from "../../src/wire/index.ts";
import { hasCommand, isPattern, makeCerts, pattern, recordingLogger, waitFor, within } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer, type NatsServer, type NatsServerOptions } from "../support/nats-server.ts";

const Calc = contract("engine.calc", "1.0.0", {
  add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number(), idempotent: true }),
  wait: unary({ input: z.object({ ms: z.number() }), output: z.string() }),
  big: unary({ input: z.object({ size: z.number() }), output: z.instanceof(Uint8Array) }),
});

const handlers = {
  add: ({ a, b }: { a: number; b: number }) => a + b,
  wait: async ({ ms }: { ms: number }, ctx: { signal: AbortSignal }) => {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
    return "waited";
  },
  big: ({ size }: { size: number }) => pattern(size, 3),
};

async function withServer(t: TestContext, options: NatsServerOptions = {}): Promise<NatsServer | undefined> {
  if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return undefined;
  const server = await startNatsServer(options);
  t.after(() => server.stop());
  return server;
}

async function serving(t: TestContext, servers: string[], extra: Parameters<typeof nats>[0] = { servers }): Promise<Node> {
  const node = await startNode({ name: "server", engine: nats({ ...extra, servers }), lookup: false, logger: recordingLogger() });
  t.after(() => node.close({ timeout: 500 }));
  node.serve(Calc, handlers);
  return node;
}

const OP_OPEN = 1;
const OP_DATA = 2;
const OP_CLOSE = 3;
const OP_RESET = 4;
const OP_ACK = 5;
const OP_RESUME = 6;
const FROM_ACCEPTOR = 0x80;

/** `op | connection | seq | ack`, then the payload. */
const ENVELOPE = 13;

function envelope(op: number, connection: number, seq: number, payload: Uint8Array = new Uint8Array(0), ack = 0): Uint8Array {
  const out = Buffer.alloc(ENVELOPE + payload.length);
  out[0] = op;
  out.writeUInt32BE(connection, 1);
  out.writeUInt32BE(seq, 5);
  out.writeUInt32BE(ack, 9);
  out.set(payload, ENVELOPE);
  return out;
}

describe("NATS engine: virtual connections", () => {
  test("garbage on a node's inbox never takes it down; DATA or RESUME for an unknown connection is answered with RESET", async (t) => {
    const server = await withServer(t);
    if (!server) return;
    const node = await serving(t, [server.url]);
    const raw = await natsConnect({ servers: [server.url] });
    t.after(() => raw.close());
    const inbox = `amoeba.node.${node.id}`;
    const fakeInbox = `amoeba.node.fake-${randomUUID()}`;
    const resets: Msg[] = [];
    raw.subscribe(fakeInbox, {
      callback: (_e, msg) => {
        resets.push(msg);
      },
    });
    await raw.flush();
    const junk: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([1]),
      new Uint8Array(ENVELOPE).fill(0xff),
      envelope(OP_OPEN, 1, 0, new TextEncoder().encode("{not json")),
      envelope(OP_OPEN, 2, 0, new TextEncoder().encode(JSON.stringify({ inbox: "elsewhere", address: "x" }))),
      envelope(OP_OPEN | FROM_ACCEPTOR, 3, 0),
      envelope(OP_CLOSE, 4, 1),
      envelope(99, 5, 1, new Uint8Array(100)),
    ];
    for (const bytes of junk) raw.publish(inbox, bytes, { reply: fakeInbox });
    raw.publish(inbox, envelope(OP_DATA, 77, 1, new Uint8Array([0, 0, 0, 5, 1, 0, 0, 0, 0])), { reply: fakeInbox });
    raw.publish(inbox, envelope(OP_RESUME, 78, 0), { reply: fakeInbox });
    raw.publish(inbox, envelope(OP_ACK, 79, 0), { reply: fakeInbox });
    await raw.flush();
    await waitFor(() => resets.length >= 2, 5_000, "a RESET for each unknown connection asked about");
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const reset of resets) assert.equal(reset.data[0], OP_RESET | FROM_ACCEPTOR);
    assert.deepEqual(
      resets.map((reset) => Buffer.from(reset.data).readUInt32BE(1)),
      [77, 78],
      "only DATA and RESUME are answered, never the junk nor an ACK",
    );
    const peer = await connect(node.addresses[0]!, { engine: nats({ servers: [server.url] }), logger: recordingLogger() });
    t.after(() => peer.close());
    assert.equal(await peer.client(Calc).add({ a: 2, b: 2 }), 4, "the node still serves");
  });

  test("a lost message: the receiver waits out the gap, asks for a resend (RESUME), drops duplicates and acknowledges", async (t) => {
    const server = await withServer(t);
    if (!server) return;
    const node = await serving(t, [server.url]);
    const raw = await natsConnect({ servers: [server.url] });
    t.after(() => raw.close());
    const fakeInbox = `amoeba.node.fake-${randomUUID()}`;
    const seen: Array<{ op: number; ack: number }> = [];
    raw.subscribe(fakeInbox, {
      callback: (_e, msg) => {
        seen.push({ op: msg.data[0]! & ~FROM_ACCEPTOR, ack: Buffer.from(msg.data).readUInt32BE(9) });
      },
    });
    const inbox = `amoeba.node.${node.id}`;
    const hello = new TextEncoder().encode(JSON.stringify({ inbox: fakeInbox, address: "nats://fake" }));
    const accepted = await raw.request(inbox, envelope(OP_OPEN, 11, 0, hello), { timeout: 5_000 });
    assert.equal(accepted.data[0], OP_OPEN | FROM_ACCEPTOR);
    // #2 arrives first: #1 was lost. Empty DATA carries no frame, only its place in the sequence.
    raw.publish(inbox, envelope(OP_DATA, 11, 2), { reply: fakeInbox });
    await waitFor(() => seen.some((m) => m.op === OP_RESUME), 5_000, "the node asks for a resend");
    assert.equal(seen.find((m) => m.op === OP_RESUME)!.ack, 0, "it has nothing of ours in order yet");
    raw.publish(inbox, envelope(OP_DATA, 11, 1), { reply: fakeInbox });
    raw.publish(inbox, envelope(OP_DATA, 11, 2), { reply: fakeInbox });
    await waitFor(() => seen.some((m) => m.ack === 2), 5_000, "the node acknowledges #1 and #2");
    const acks = seen.filter((m) => m.op === OP_ACK).length;
    raw.publish(inbox, envelope(OP_DATA, 11, 1), { reply: fakeInbox });
    await waitFor(() => seen.filter((m) => m.op === OP_ACK).length > acks, 5_000, "a duplicate is acknowledged again, not taken");
    assert.ok(!seen.some((m) => m.op === OP_RESET), "the connection lives on");
  });

  test("a frame over the size limit: the node answers GOAWAY (protocol error) and closes that connection only", async (t) => {
    const server = await withServer(t);
    if (!server) return;
    const node = await serving(t, [server.url]);
    const raw = await natsConnect({ servers: [server.url] });
    t.after(() => raw.close());
    const fakeInbox = `amoeba.node.fake-${randomUUID()}`;
    const frames: Frame[] = [];
    let closed = false;
    const decoder = new FrameDecoder(DEFAULT_WIRE_LIMITS, (frame) => frames.push(frame));
    raw.subscribe(fakeInbox, {
      callback: (_e, msg) => {
        const op = msg.data[0]! & ~FROM_ACCEPTOR;
        if (op === OP_DATA) decoder.push(msg.data.subarray(ENVELOPE));
        if (op === OP_CLOSE || op === OP_RESET) closed = true;
      },
    });
    const hello = new TextEncoder().encode(JSON.stringify({ inbox: fakeInbox, address: "nats://fake" }));
    const accepted = await raw.request(`amoeba.node.${node.id}`, envelope(OP_OPEN, 9, 0, hello), { timeout: 5_000 });
    assert.equal(accepted.data[0], OP_OPEN | FROM_ACCEPTOR, "OPEN is answered");
    // A header declaring a 100 MB frame: refused on the declared length.
    const header = Buffer.alloc(9);
    header.writeUInt32BE(100 * 1024 * 1024, 0);
    header[4] = FrameKind.Hello;
    raw.publish(`amoeba.node.${node.id}`, envelope(OP_DATA, 9, 1, header), { reply: fakeInbox });
    await waitFor(() => closed, 5_000, "the node closes the connection");
    assert.equal(frames[0]?.kind, FrameKind.Hello, "the node greeted first");
    const goAway = frames.find((frame) => frame.kind === FrameKind.GoAway);
    assert.ok(goAway, "a GOAWAY came before the close");
    assert.match(String((goAway.body as unknown[])[1]), /protocol error: .*exceeds the limit/);
    const peer = await connect(node.addresses[0]!, { engine: nats({ servers: [server.url] }), logger: recordingLogger() });
    t.after(() => peer.close());
    assert.equal(await peer.client(Calc).add({ a: 1, b: 2 }), 3, "other connections are unaffected");
  });

  test("dialing a node that is not there fails at once with no responders", async (t) => {
    const server = await withServer(t);
    if (!server) return;
    await assert.rejects(
      within(connect(`nats://${randomUUID()}`, { engine: nats({ servers: [server.url] }), logger: recordingLogger(), connectTimeout: 60_000 }), 10_000, "the dial fails"),
      (error: unknown) => {
        assert.ok(error instanceof NoRespondersError, `a NoRespondersError, not ${String(error)}`);
        assert.ok(error instanceof AmoebaError);
        assert.equal(error.code, "NO_RESPONDERS");
        assert.equal(error.unprocessed, true);
        assert.match(error.message, /no responders/);
        return true;
      },
    );
    await assert.rejects(connect("nats://not a node", { engine: nats({ servers: [server.url] }), logger: recordingLogger() }), /not a NATS node address/);
  });

  test("frames larger than the server's max_payload are split and joined: a 300 KB answer with max_payload 16 KiB", async (t) => {
    const server = await withServer(t, { config: "max_payload: 16384\n" });
    if (!server) return;
    const node = await serving(t, [server.url]);
    const peer = await connect(node.addresses[0]!, { engine: nats({ servers: [server.url] }), logger: recordingLogger() });
    t.after(() => peer.close());
    const bytes = await peer.client(Calc).big({ size: 300_000 });
    assert.equal(bytes.length, 300_000);
    assert.ok(isPattern(bytes, 300_000, 3), "byte for byte");
    const sums = await Promise.all(Array.from({ length: 200 }, (_, i) => peer.client(Calc).add({ a: i, b: 1 })));
    assert.deepEqual(sums, Array.from({ length: 200 }, (_, i) => i + 1));
  });

  test("the NATS server dies and comes back: the connection resumes, and the call in flight completes", async (t) => {
    const first = await withServer(t);
    if (!first) return;
    const node = await serving(t, [first.url]);
    const caller = await startNode({ name: "caller", engine: nats({ servers: [first.url] }), lookup: false, logger: recordingLogger() });
    t.after(() => caller.close({ timeout: 500 }));
    const peer = await caller.connect(node.addresses[0]!);
    const calc = peer.client(Calc, { balance: { retries: 0 } });
    assert.equal(await calc.add({ a: 1, b: 1 }), 2);
    // Not idempotent and not retried: only a resumed connection can carry its answer.
    const inFlight = calc.wait({ ms: 1_500 }, { timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.kill();
    const second = await startNatsServer({ port: first.port });
    t.after(() => second.stop());
    assert.equal(await within(inFlight, 20_000, "the call in flight answers"), "waited");
    assert.equal(await calc.add({ a: 20, b: 22 }, { timeout: 10_000 }), 42, "the same connection carries new calls");
  });

  test("no NATS server for longer than connections wait: a call in flight fails as UNAVAILABLE that may have run, one made meanwhile as not processed", async (t) => {
    const server = await withServer(t);
    if (!server) return;
    const node = await serving(t, [server.url]);
    const caller = await startNode({ name: "caller", engine: nats({ servers: [server.url] }), lookup: false, logger: recordingLogger() });
    t.after(() => caller.close({ timeout: 500 }));
    const calc = (await caller.connect(node.addresses[0]!)).client(Calc);
    assert.equal(await calc.add({ a: 1, b: 1 }), 2);
    const inFlight = calc.wait({ ms: 60_000 }, { timeout: 120_000 }).then(
      () => undefined,
      (error: Error & { code?: string; unprocessed?: boolean }) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const killed = Date.now();
    await server.kill();
    // Once the client has noticed, a new call goes into the connection but cannot leave the node.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const meanwhile = calc.add({ a: 2, b: 2 }, { timeout: 120_000 }).then(
      () => undefined,
      (error: Error & { code?: string; unprocessed?: boolean }) => error,
    );
    const error = await within(inFlight, 30_000, "the call fails once connections stop waiting");
    assert.equal(error?.code, "UNAVAILABLE", error?.message);
    assert.equal(error?.unprocessed, false, "it was sent: it may have run");
    assert.ok(Date.now() - killed >= 9_000, "connections waited for a server first");
    const never = await within(meanwhile, 30_000, "the call made meanwhile fails");
    assert.equal(never?.code, "UNAVAILABLE", never?.message);
    assert.equal(never?.unprocessed, true, `it never left the node: not processed (${never?.message})`);
  });
});

describe("NATS engine: credentials and TLS", () => {
  test("user and password: the right ones connect, a wrong password is a clear startup error", async (t) => {
    const server = await withServer(t, { config: 'authorization { user: "amoeba", password: "s3cret" }\n' });
    if (!server) return;
    const node = await serving(t, [server.url], { servers: [], user: "amoeba", pass: "s3cret" });
    assert.match(node.addresses[0]!, /^nats:\/\//);
    await assert.rejects(
      startNode({ engine: nats({ servers: [server.url], user: "amoeba", pass: "wrong" }), logger: recordingLogger() }),
      /refused the credentials/,
    );
    await assert.rejects(startNode({ engine: nats({ servers: [server.url] }), logger: recordingLogger() }), /refused the credentials/);
  });

  test("token: the right one connects and calls work, a wrong one is a clear startup error", async (t) => {
    const server = await withServer(t, { config: 'authorization { token: "t0ken" }\n' });
    if (!server) return;
    const node = await serving(t, [server.url], { servers: [], token: "t0ken" });
    const peer = await connect(node.addresses[0]!, { engine: nats({ servers: [server.url], token: "t0ken" }), logger: recordingLogger() });
    t.after(() => peer.close());
    assert.equal(await peer.client(Calc).add({ a: 3, b: 4 }), 7);
    await assert.rejects(startNode({ engine: nats({ servers: [server.url], token: "nope" }), logger: recordingLogger() }), /refused the credentials/);
  });

  test("nkey: a node with the user's seed connects; another seed is refused", async (t) => {
    const user = nkeys.createUser();
    const server = await withServer(t, { config: `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n` });
    if (!server) return;
    const seed = new TextDecoder().decode(user.getSeed());
    const node = await serving(t, [server.url], { servers: [], nkeySeed: seed });
    assert.match(node.addresses[0]!, /^nats:\/\//);
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    await assert.rejects(startNode({ engine: nats({ servers: [server.url], nkeySeed: stranger }), logger: recordingLogger() }), /refused the credentials/);
  });

  test("TLS to the NATS server: a node that trusts its CA connects; one that does not cannot", async (t) => {
    if (!requireOrSkip(t, hasCommand("openssl"), "the openssl CLI is needed to make test certificates")) return;
    const certs = makeCerts();
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "amoeba-nats-tls-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "cert.pem"), certs.server.cert);
    writeFileSync(join(dir, "key.pem"), certs.server.key);
    const server = await withServer(t, { config: `tls { cert_file: "${join(dir, "cert.pem")}"\n key_file: "${join(dir, "key.pem")}" }\n` });
    if (!server) return;
    const url = `tls://127.0.0.1:${server.port}`;
    const node = await serving(t, [url], { servers: [], tls: { ca: certs.ca } });
    const peer = await connect(node.addresses[0]!, { engine: nats({ servers: [url], tls: { ca: certs.ca } }), logger: recordingLogger() });
    t.after(() => peer.close());
    assert.equal(await peer.client(Calc).add({ a: 5, b: 5 }), 10);
    await assert.rejects(startNode({ engine: nats({ servers: [url], tls: { ca: certs.rogueCa } }), logger: recordingLogger() }), /TLS|certificate|cannot connect/i);
  });
});
