/**
 * One process at a time owns a store directory: its compare-and-set is a
 * lock per key inside that process, which another process could not see. The
 * owner is named in a `LOCK` file; a lock left by a process that died is
 * taken over. Stores of one process on one directory share the key locks
 * and the records (one log, read once).
 */
import { open, readFile, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "./errors.ts";
import { RecordLog } from "./record-log.ts";

/** The per-key locks of one directory in this process. */
export class KeyLocks {
  /** Per name held, the bodies waiting for it, in order. A name not held has no entry. */
  readonly #waiting = new Map<string, Array<() => void>>();

  /** Runs `body` after every earlier body for `name` has ended. */
  run<T>(name: string, body: () => Promise<T>): Promise<T> {
    const waiting = this.#waiting.get(name);
    if (waiting === undefined) {
      // Free: taken at once, with no promise made to wait on.
      this.#waiting.set(name, []);
      return this.#hold(name, body);
    }
    return new Promise<void>((resolve) => waiting.push(resolve)).then(() => this.#hold(name, body));
  }

  #hold<T>(name: string, body: () => Promise<T>): Promise<T> {
    let running: Promise<T>;
    try {
      running = body();
    } catch (error) {
      running = Promise.reject(error);
    }
    const handOn = (): void => {
      const waiting = this.#waiting.get(name)!;
      const next = waiting.shift();
      if (next) next();
      else this.#waiting.delete(name);
    };
    running.then(handOn, handOn);
    return running;
  }
}

interface Held {
  users: number;
  locks: KeyLocks;
  log: RecordLog;
}

// Keyed by the directory's real path; shared by every store of this process.
const held = new Map<string, Held>();
const opening = new Map<string, Promise<void>>();

/** A directory taken for this process: its key locks, its records, and a release. */
export interface DirectoryHold {
  readonly root: string;
  readonly locks: KeyLocks;
  readonly log: RecordLog;
  release(): Promise<void>;
}

/** Takes `root` (which must exist) for this process, or fails with UNUSABLE when a live process holds it. */
export async function holdDirectory(root: string): Promise<DirectoryHold> {
  const real = await realpath(root);
  // Two stores opening one directory at once take the LOCK file once.
  while (opening.has(real)) await opening.get(real);
  let entry = held.get(real);
  if (!entry) {
    const taking = takeLockFile(real).then(async () => {
      try {
        return await RecordLog.open(real);
      } catch (error) {
        await rm(join(real, "LOCK"), { force: true });
        throw error;
      }
    });
    opening.set(real, taking.then(() => undefined, () => undefined));
    let log: RecordLog;
    try {
      log = await taking;
    } finally {
      opening.delete(real);
    }
    entry = { users: 0, locks: new KeyLocks(), log };
    held.set(real, entry);
  }
  entry.users++;
  const mine = entry;
  let released = false;
  return {
    root: real,
    locks: mine.locks,
    log: mine.log,
    async release() {
      if (released) return;
      released = true;
      if (--mine.users > 0) return;
      held.delete(real);
      await mine.log.close();
      await rm(join(real, "LOCK"), { force: true });
    },
  };
}

async function takeLockFile(root: string): Promise<void> {
  const path = join(root, "LOCK");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const pid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new StoreError("UNUSABLE", `the store directory ${root} is in use by process ${pid}`, { details: { pid } });
    }
    // Left by a process that is gone (or by this one, through another copy of Amoeba): take it over.
    await rm(path, { force: true });
  }
  throw new StoreError("UNUSABLE", `could not take the lock of the store directory ${root}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
