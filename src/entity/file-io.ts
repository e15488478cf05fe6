/**
 * Records as bytes with a checksum, for the directory store's log: a torn or
 * changed record is caught on reading, not taken for what the store wrote.
 */
import { open, readFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { decodeBody, encodeBody } from "../wire/codec.ts";
import { StoreError } from "./errors.ts";

// "AME" and a format number; then a CRC-32 of the body; then the msgpack body.
const MAGIC = Buffer.from([0x41, 0x4d, 0x45, 0x01]);
const HEADER = MAGIC.length + 4;

/**
 * Encodes `record` (plain data, bytes allowed) as file contents with a
 * checksum; with `lengthPrefix`, led by 4 bytes (big-endian) holding the
 * length of the rest, as a frame of a log (made in one piece, not copied twice).
 */
export function encodeRecord(record: unknown, lengthPrefix = false): Buffer {
  const body = encodeBody(record);
  const at = lengthPrefix ? 4 : 0;
  const out = Buffer.allocUnsafe(at + HEADER + body.length);
  if (lengthPrefix) out.writeUInt32BE(HEADER + body.length, 0);
  MAGIC.copy(out, at);
  out.writeUInt32BE(crc32(body), at + MAGIC.length);
  out.set(body, at + HEADER);
  return out;
}

/** Decodes file contents written by {@link encodeRecord}; a CORRUPT store error when they are not. */
export function decodeRecord(bytes: Buffer, path: string): unknown {
  if (bytes.length < HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StoreError("CORRUPT", `${path} is not a record of the directory store`);
  }
  const body = bytes.subarray(HEADER);
  if (crc32(body) !== bytes.readUInt32BE(MAGIC.length)) throw new StoreError("CORRUPT", `${path} fails its checksum (torn or changed)`);
  try {
    return decodeBody(body, 8);
  } catch (error) {
    throw new StoreError("CORRUPT", `${path} does not decode: ${(error as Error).message}`, { cause: error });
  }
}

/** The contents of `path`, or undefined when there is no such file. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Flushes a directory, so that a rename or a new entry in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
