import type { Socket } from "node:net";

/**
 * The raw baseline's wire format, as small as an honest RPC framing gets:
 * `u32 length | u32 id | u8 method | JSON body`, big-endian, where `length`
 * counts the bytes after itself. Request ids let many calls share a socket.
 */
export const RAW_HEADER = 9;

/** Method numbers of the raw protocol. */
export const RawMethod = { Add: 1, Echo: 2 } as const;

// A declared length above this closes the connection instead of buffering it.
const MAX_FRAME = 16 * 1024 * 1024;

/** One frame: header and JSON body in a single buffer. */
export function encodeRawFrame(id: number, method: number, json: string): Buffer {
  const bodyLength = Buffer.byteLength(json);
  const frame = Buffer.allocUnsafe(RAW_HEADER + bodyLength);
  frame.writeUInt32BE(5 + bodyLength, 0);
  frame.writeUInt32BE(id >>> 0, 4);
  frame[8] = method;
  frame.write(json, RAW_HEADER, "utf8");
  return frame;
}

/** Splits a byte stream into frames; copies only when a frame spans chunks. */
export class RawFrameReader {
  #rest: Buffer | null = null;
  readonly #onFrame: (id: number, method: number, body: Buffer) => void;

  constructor(onFrame: (id: number, method: number, body: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  /** Feeds a chunk; throws on a frame too small or too large to be ours. */
  push(chunk: Buffer): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    this.#rest = null;
    let offset = 0;
    while (buf.length - offset >= 4) {
      const length = buf.readUInt32BE(offset);
      if (length < 5 || length > MAX_FRAME) throw new Error(`bad raw frame length ${length}`);
      if (buf.length - offset - 4 < length) break;
      const id = buf.readUInt32BE(offset + 4);
      const method = buf[offset + 8]!;
      this.#onFrame(id, method, buf.subarray(offset + RAW_HEADER, offset + 4 + length));
      offset += 4 + length;
    }
    if (offset < buf.length) this.#rest = buf.subarray(offset);
  }
}

/**
 * Per-tick write batching: frames queued while the current tick runs go out
 * in one `write` when it ends, so 64 answers cost one syscall, not 64.
 */
export class BatchedWriter {
  readonly #socket: Socket;
  #pending: Buffer[] = [];
  #scheduled = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  write(frame: Buffer): void {
    this.#pending.push(frame);
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const frames = this.#pending;
    this.#pending = [];
    if (this.#socket.destroyed) return;
    this.#socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  };
}
