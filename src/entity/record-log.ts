/**
 * The directory store's records on disk: one append-only log, every record
 * also held in memory. A write is appended with its checksum and is
 * acknowledged once it is on disk (the log is opened O_DSYNC). A flush
 * starts once the event loop has run the I/O of its turn, so that the writes
 * of calls that arrived together go in one; writes that arrive while a flush
 * is under way go together in the next one (group commit): a busy store pays
 * one flush for many writes instead of one per write. Reopened, the log is read back; a record torn by a crash can
 * only be the last one, and is cut off. When most of the log is old
 * versions, it is compacted: the live records written to a new file, flushed,
 * and renamed over the old one.
 */
import { constants } from "node:fs";
import { open, readdir, readFile, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "./errors.ts";
import { decodeRecord, encodeRecord, readIfExists, syncDir } from "./file-io.ts";

const LOG = "records.log";
/**
 * Appends are written with O_DSYNC: a write returns once its bytes are on
 * disk, one system call per flush instead of a write and an fdatasync.
 */
const APPEND_DURABLY = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_DSYNC ?? 0);
/** Where the system has no O_DSYNC, each flush is a write and an fdatasync. */
const SYNC_AFTER_WRITE = constants.O_DSYNC === undefined;
const COMPACTING = "records.log.compact";
/** Compact once the log is past this size and more than half of it is old versions. */
const COMPACT_ABOVE = 8 * 1024 * 1024;

/** One record: plain data (bytes allowed). */
export type LogRecord = Record<string, unknown>;

interface Entry {
  record: LogRecord;
  /** Its frame's size in the log. */
  size: number;
}

interface Pending {
  name: string;
  record: LogRecord | undefined;
  frame: Buffer;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The records of one store directory. Use from the one process that holds the directory. */
export class RecordLog {
  readonly #root: string;
  readonly #entries = new Map<string, Entry>();
  #handle: FileHandle;
  #bytes: number;
  #live = 0;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #failed: unknown;

  private constructor(root: string, handle: FileHandle, bytes: number) {
    this.#root = root;
    this.#handle = handle;
    this.#bytes = bytes;
  }

  /** Opens the log of `root`, reading back what it holds (and records of the store's earlier one-file-per-record layout). */
  static async open(root: string): Promise<RecordLog> {
    await rm(join(root, COMPACTING), { force: true });
    const path = join(root, LOG);
    const bytes = (await readIfExists(path)) ?? Buffer.alloc(0);
    const { frames, end } = readFrames(bytes, path);
    if (end < bytes.length) {
      // A crash tore the last write: it was never acknowledged.
      const torn = await open(path, "r+");
      try {
        await torn.truncate(end);
        await torn.datasync();
      } finally {
        await torn.close();
      }
    }
    const handle = await open(path, APPEND_DURABLY, 0o600);
    const log = new RecordLog(root, handle, end);
    for (const { name, record, size } of frames) log.#apply(name, record, size);
    if (await log.#importFiles()) await log.#compact();
    else if (log.#wantsCompaction()) await log.#compact();
    return log;
  }

  /** The record of `name`, or undefined. */
  get(name: string): LogRecord | undefined {
    return this.#entries.get(name)?.record;
  }

  /** Writes (or, with undefined, removes) the record of `name`; resolves once it is on disk. Readers see it from then on. */
  put(name: string, record: LogRecord | undefined): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(unusable(this.#failed));
    const frame = frameOf(name, record);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ name, record, frame, resolve, reject });
      this.#flushing ??= afterThisTurn().then(() => this.#flush());
    });
  }

  /** Waits for the writes under way, then closes the file. */
  async close(): Promise<void> {
    await this.#flushing;
    await this.#handle.close();
  }

  async #flush(): Promise<void> {
    try {
      // Bounded by the writers: each round takes every write that arrived during the last one.
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          const bytes = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((write) => write.frame));
          await writeAll(this.#handle, bytes);
          if (SYNC_AFTER_WRITE) await this.#handle.datasync();
          this.#bytes += bytes.length;
        } catch (error) {
          // What reached the file is unknown: nothing more is appended after it.
          this.#failed = error;
          for (const write of [...batch, ...this.#pending.splice(0)]) write.reject(unusable(error));
          return;
        }
        for (const write of batch) {
          this.#apply(write.name, write.record, write.frame.length);
          write.resolve();
        }
        if (this.#wantsCompaction()) await this.#compact().catch((error: unknown) => (this.#failed = error));
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  #apply(name: string, record: LogRecord | undefined, size: number): void {
    const before = this.#entries.get(name);
    if (before) this.#live -= before.size;
    if (record === undefined) this.#entries.delete(name);
    else {
      this.#entries.set(name, { record, size });
      this.#live += size;
    }
  }

  #wantsCompaction(): boolean {
    return this.#bytes > COMPACT_ABOVE && this.#bytes > 2 * this.#live;
  }

  /** Writes the live records to a new log and puts it in the old one's place, crash-safe. */
  async #compact(): Promise<void> {
    const temp = join(this.#root, COMPACTING);
    const handle = await open(temp, "w", 0o600);
    let bytes = 0;
    try {
      const frames: Buffer[] = [];
      for (const [name, entry] of this.#entries) {
        const frame = frameOf(name, entry.record);
        entry.size = frame.length;
        frames.push(frame);
        bytes += frame.length;
      }
      await writeAll(handle, Buffer.concat(frames));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.#root, LOG));
    await syncDir(this.#root);
    await this.#handle.close();
    this.#handle = await open(join(this.#root, LOG), APPEND_DURABLY, 0o600);
    this.#bytes = bytes;
    this.#live = bytes;
  }

  /** Takes in the records of the store's earlier layout (a file per record under e/, l/, i/); true when there were any. */
  async #importFiles(): Promise<boolean> {
    let found = false;
    for (const section of ["e", "l", "i"]) {
      const dir = join(this.#root, section);
      const shards = await readdir(dir).catch(() => undefined);
      if (shards === undefined) continue;
      for (const shard of shards) {
        for (const file of await readdir(join(dir, shard)).catch(() => [] as string[])) {
          if (file.endsWith(".tmp")) continue;
          const path = join(dir, shard, file);
          const record = decodeRecord(await readFile(path), path) as LogRecord;
          if (typeof record?.k !== "string") throw new StoreError("CORRUPT", `${path} does not hold a record of its key`);
          this.#apply(`${section}/${record.k}`, record, 0);
          found = true;
        }
      }
    }
    if (!found) return false;
    // The log is made first, then the old files go: a crash in between imports them again.
    await this.#compact();
    for (const section of ["e", "l", "i"]) await rm(join(this.#root, section), { recursive: true, force: true });
    return true;
  }
}

/** A frame of the log: its length, then the record with its name (checksummed). */
function frameOf(name: string, record: LogRecord | undefined): Buffer {
  return encodeRecord({ n: name, r: record ?? null }, true);
}

/** The frames of a log, and where the last whole one ends (a torn last frame is left out). */
function readFrames(bytes: Buffer, path: string): { frames: Array<{ name: string; record: LogRecord | undefined; size: number }>; end: number } {
  const frames: Array<{ name: string; record: LogRecord | undefined; size: number }> = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) break;
    const length = bytes.readUInt32BE(at);
    if (at + 4 + length > bytes.length) break;
    let decoded: { n?: unknown; r?: unknown };
    try {
      decoded = decodeRecord(bytes.subarray(at + 4, at + 4 + length), path) as { n?: unknown; r?: unknown };
    } catch (error) {
      // Only the last frame can be torn by a crash; one that fails before it is damage.
      if (at + 4 + length === bytes.length) break;
      throw error;
    }
    if (typeof decoded?.n !== "string") throw new StoreError("CORRUPT", `${path} holds a frame without a name at byte ${at}`);
    frames.push({ name: decoded.n, record: decoded.r === null ? undefined : (decoded.r as LogRecord), size: 4 + length });
    at += 4 + length;
  }
  return { frames, end: at };
}

/** Resolves once the event loop has run the other callbacks of its turn (their microtasks too). */
function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  // Bounded: every round writes at least one byte or throws.
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    at += bytesWritten;
  }
}

function unusable(cause: unknown): StoreError {
  return new StoreError("UNAVAILABLE", `the directory store could not write its log: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
