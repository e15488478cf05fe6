/**
 * Crash-safe files for the directory store. A record is written whole to a
 * temporary file, flushed to disk, renamed over the old one and the directory
 * flushed, so a reader sees the old record or the new one, never a mix; a
 * checksum catches a file that is not what the store wrote anyway.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { decodeBody, encodeBody } from "../wire/codec.ts";
import { StoreError } from "./errors.ts";

// "AMEs" and a format number; then a CRC-32 of the body; then the msgpack body.
const MAGIC = Buffer.from([0x41, 0x4d, 0x45, 0x01]);
const HEADER = MAGIC.length + 4;

/** Encodes `record` (plain data, bytes allowed) as file contents with a checksum. */
export function encodeRecord(record: unknown): Buffer {
  const body = encodeBody(record);
  const out = Buffer.allocUnsafe(HEADER + body.length);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(crc32(body), MAGIC.length);
  out.set(body, HEADER);
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

/**
 * Makes sure `dir` exists, flushing its parent when it had to be made, so
 * that files renamed into it are reachable after a crash. `made` remembers the
 * directories already made or seen.
 */
export async function ensureDir(dir: string, made: Set<string>): Promise<void> {
  if (made.has(dir)) return;
  const first = await mkdir(dir, { recursive: true });
  if (first !== undefined) await syncDir(dirname(dir));
  made.add(dir);
}

/** Writes `bytes` to `path` atomically and durably: temporary file, fsync, rename, fsync of the directory. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, path);
  await syncDir(dirname(path));
}

/**
 * Removes the temporary files under `root` that processes other than this
 * one left (a writer killed between writing and renaming); this process's
 * own are writes in flight. Call it only while holding the directory.
 */
export async function sweepTemp(root: string): Promise<number> {
  let removed = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && depth < 2) await walk(path, depth + 1);
      else if (entry.isFile() && entry.name.endsWith(".tmp") && entry.name.split(".")[1] !== String(process.pid)) {
        await rm(path, { force: true });
        removed++;
      }
    }
  };
  await walk(root, 0);
  return removed;
}
