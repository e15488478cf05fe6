/**
 * A scripted peer for hostile-input tests: a raw socket that speaks just enough
 * of the wire protocol to reach the part under test, then sends whatever bytes
 * or frames a test wants, and records what comes back.
 */
import net from "node:net";
import { parseAddress } from "../../src/transport/address.ts";
import {
  DEFAULT_WIRE_LIMITS,
  encodeFrame,
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  WireError,
  type Frame,
  type HelloBody,
} from "../../src/wire/index.ts";
import { STATUS_CODES } from "../../src/rpc/status.ts";

/** How long a wait lasts unless a test says otherwise (ms). */
export const DEFAULT_WAIT = 3_000;

/** The status numbers the tests look for (the wire numbers of gRPC's codes). */
export const Status = STATUS_CODES;

/** A header for a frame whose body is `bodyLength` bytes, with any declared length the test wants. */
export function header(kind: number, id: number, declaredLength: number): Buffer {
  const out = Buffer.alloc(HEADER_SIZE);
  out.writeUInt32BE(declaredLength >>> 0, 0);
  out[4] = kind;
  out.writeUInt32BE(id >>> 0, 5);
  return out;
}

/** A whole frame around raw body bytes (which need not be valid msgpack). */
export function rawFrame(kind: number, id: number, body: Uint8Array): Buffer {
  return Buffer.concat([header(kind, id, body.length + 5), body]);
}

/** Resolves when `check` holds, polling; rejects after `timeout` ms with `what`. */
export async function waitUntil(check: () => boolean, what: string, timeout = DEFAULT_WAIT): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A RESULT body without its optional callee time (`[output, meta, micros?]`),
 * after checking that time is a whole number of µs when present.
 */
export function resultOf(body: unknown): unknown[] {
  const list = body as unknown[];
  if (list.length === 3) {
    const micros = list[2];
    if (typeof micros !== "number" || !Number.isInteger(micros) || micros < 0) throw new Error(`RESULT time is not whole µs: ${String(micros)}`);
    return list.slice(0, 2);
  }
  return list;
}

export class RawPeer {
  readonly socket: net.Socket;
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Bytes received in total. */
  bytesReceived = 0;
  /** Set when the other end sent bytes our decoder refused. */
  decodeError: WireError | null = null;
  /** The other end ended its side (it closed the connection, not us). */
  ended = false;
  /** The socket is fully closed. */
  closed = false;
  readonly #decoder: FrameDecoder;
  readonly #closedPromise: Promise<void>;
  #destroyedByUs = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    // Generous limits: a test may want to see a big frame the server sends.
    this.#decoder = new FrameDecoder({ ...DEFAULT_WIRE_LIMITS, maxFrameSize: 64 * 1024 * 1024 }, (frame) => this.frames.push(frame));
    socket.on("data", (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      if (this.decodeError) return;
      try {
        this.#decoder.push(chunk);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        this.decodeError = error;
      }
    });
    socket.on("end", () => {
      if (!this.#destroyedByUs) this.ended = true;
    });
    socket.on("error", () => {});
    this.#closedPromise = new Promise((resolve) =>
      socket.once("close", () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  /** Wraps a socket a test server accepted: the raw peer plays the node that was dialed. */
  static accepted(socket: net.Socket): RawPeer {
    return new RawPeer(socket);
  }

  /** Opens a raw socket to a `tcp://` or `unix://` address. */
  static async connect(address: string, timeout = DEFAULT_WAIT): Promise<RawPeer> {
    const parsed = parseAddress(address);
    const socket =
      parsed.scheme === "tcp"
        ? net.connect({ host: parsed.host, port: parsed.port })
        : parsed.scheme === "unix"
          ? net.connect({ path: parsed.path })
          : null;
    if (!socket) throw new Error(`a raw peer cannot dial ${address}`);
    const peer = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${address} within ${timeout} ms`));
      }, timeout);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return peer;
  }

  /** Opens a socket and completes the handshake (HELLO both ways). */
  static async handshaken(address: string, hello: Partial<HelloBody> = {}): Promise<RawPeer> {
    const peer = await RawPeer.connect(address);
    try {
      peer.sendHello(hello);
      await peer.waitForFrame((frame) => frame.kind === FrameKind.Hello, "the server's HELLO");
    } catch (error) {
      peer.destroy();
      throw error;
    }
    return peer;
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Writes one well-formed frame. */
  send(kind: number, id: number, body: unknown): void {
    this.write(encodeFrame(kind as FrameKind, id, body));
  }

  /** Sends a HELLO, with any field replaced. */
  sendHello(overrides: Partial<HelloBody> | Record<string, unknown> = {}): void {
    const hello = {
      proto: PROTOCOL_NAME,
      v: PROTOCOL_VERSION,
      node: { id: "raw-peer", name: "raw-peer" },
      services: [],
      maxFrame: DEFAULT_WIRE_LIMITS.maxFrameSize,
      ...overrides,
    };
    this.send(FrameKind.Hello, 0, hello);
  }

  /**
   * Sends a CALL. `id` must be odd: a dialer's calls have odd ids.
   * Fields default to a well-formed call with no deadline and no metadata.
   */
  sendCall(
    id: number,
    service: string,
    method: string,
    input: unknown,
    options: { version?: string | null; timeout?: number | null; meta?: unknown; credit?: number; kind?: number; sent?: number } = {},
  ): void {
    const body: unknown[] = [service, method, options.version ?? null, options.timeout ?? null, options.meta ?? null, input, options.credit ?? 0];
    // `sent` (when the CALL left, on this peer's clock) follows `kind`.
    if (options.kind !== undefined || options.sent !== undefined) body.push(options.kind ?? 0);
    if (options.sent !== undefined) body.push(options.sent);
    this.send(FrameKind.Call, id, body);
  }

  /** Waits for a frame matching `match` (already received or still to come). */
  async waitForFrame(match: (frame: Frame) => boolean, what: string, timeout = DEFAULT_WAIT): Promise<Frame> {
    let found: Frame | undefined;
    await waitUntil(
      () => {
        found = this.frames.find(match);
        return found !== undefined || this.closed;
      },
      what,
      timeout,
    );
    if (!found) found = this.frames.find(match);
    if (!found) {
      throw new Error(`the connection closed before ${what}; received kinds ${this.frames.map((f) => f.kind).join(",") || "none"}`);
    }
    return found;
  }

  /** The RESULT or ERROR of call `id`. */
  async outcome(id: number, timeout = DEFAULT_WAIT): Promise<Frame> {
    return this.waitForFrame(
      (frame) => frame.id === id && (frame.kind === FrameKind.Result || frame.kind === FrameKind.Error),
      `the outcome of call ${id}`,
      timeout,
    );
  }

  /** The ERROR frame of call `id`, as `[code, message, details, …]`; fails when the call did not fail. */
  async errorOf(id: number, timeout = DEFAULT_WAIT): Promise<unknown[]> {
    const frame = await this.outcome(id, timeout);
    if (frame.kind !== FrameKind.Error) throw new Error(`call ${id} did not fail: ${JSON.stringify(frame.body)}`);
    if (!Array.isArray(frame.body)) throw new Error(`ERROR frame body is not a list: ${JSON.stringify(frame.body)}`);
    return frame.body as unknown[];
  }

  /** The GOAWAY the server sent, if any. */
  goAway(): [number, string, boolean] | undefined {
    return this.frames.find((frame) => frame.kind === FrameKind.GoAway)?.body as [number, string, boolean] | undefined;
  }

  /** Waits until the other end closed the connection; fails if it does not within `timeout`. */
  async waitForServerClose(timeout = DEFAULT_WAIT): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#closedPromise,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${timeout} ms`)), timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (this.#destroyedByUs) throw new Error("the connection was closed by this peer, not by the server");
  }

  /** Closes at once (idempotent). */
  destroy(): void {
    if (!this.closed) this.#destroyedByUs = true;
    this.socket.destroy();
  }

  /** Resolves once the socket is closed. */
  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }
}
