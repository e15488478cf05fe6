// kill -9 of a process in the middle of writes to a directory store: afterwards no acknowledged
// write is lost, no record is torn, and the directory's lock left by the dead process is taken over.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openDirectoryStore, StoreError } from "../../src/entity/index.ts";
import { CRASH_KEYS, crashPattern } from "./fixtures/crash-pattern.ts";

const WRITER = fileURLToPath(new URL("./fixtures/directory-writer.ts", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "amoeba-entity-crash-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs a writer until it acknowledged at least `acks` saves (and a few ms more), then kills it with SIGKILL. Returns the last acked version per key. */
async function writeThenKill(dir: string, acks: number, token: number): Promise<Map<string, number>> {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, dir, String(token)], { stdio: ["ignore", "pipe", "pipe"] });
  const acked = new Map<string, number>();
  let count = 0;
  let rest = "";
  let errors = "";
  child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? String(code))));
  const enough = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the writer acknowledged only ${count} saves in 30 s: ${errors}`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const [word, key, version] = line.split(" ");
        assert.equal(word, "ack");
        const v = Number(version);
        assert.ok(v > (acked.get(key!) ?? 0), "acks of a key grow");
        acked.set(key!, v);
        if (++count === acks) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    void exited.then((how) => reject(new Error(`the writer exited (${how}) before ${acks} acks: ${errors}`)));
  });
  await enough;
  // Mid-write: every key's loop has a save in flight at any moment.
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 15)));
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL");
  return acked;
}

test("directory store: kill -9 in the middle of writes loses no acknowledged write and tears no record (3 rounds)", async (t) => {
  const dir = join(root, "store");
  const lastAcked = new Map<string, number>();
  for (let round = 1; round <= 3; round++) {
    const acked = await writeThenKill(dir, 150 * round, round);
    for (const [key, version] of acked) lastAcked.set(key, version);
    // The dead writer's LOCK is taken over; every record reads whole.
    const store = await openDirectoryStore({ dir });
    try {
      for (const key of CRASH_KEYS) {
        const loaded = await store.load(key);
        const ackedVersion = lastAcked.get(key) ?? 0;
        assert.ok(loaded.version >= ackedVersion, `${key}: version ${loaded.version} lost the acknowledged ${ackedVersion}`);
        // One save per key in flight at most: it may have landed unacknowledged, no more.
        assert.ok(loaded.version <= ackedVersion + 1, `${key}: version ${loaded.version} is beyond the acknowledged ${ackedVersion} + 1`);
        if (loaded.version > 0) {
          assert.ok(loaded.data !== undefined && Buffer.from(loaded.data).equals(Buffer.from(crashPattern(key, loaded.version))), `${key}@${loaded.version} is torn`);
        }
        lastAcked.set(key, loaded.version);
      }
    } finally {
      await store.close();
    }
    // Opening the store swept what the killed writer left half-way.
    assert.equal(countTemp(dir), 0, "temporary files left after the store was opened and closed");
    t.diagnostic(`round ${round}: ${[...acked.values()].length} keys, latest acknowledged versions ${[...acked.values()].join(", ")}`);
  }
});

test("directory store: a live process's directory is refused with a typed error", async () => {
  const dir = join(root, "busy");
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, dir, "1"], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once("data", () => resolve());
      child.once("exit", () => reject(new Error("the writer exited")));
    });
    await assert.rejects(openDirectoryStore({ dir }), (error: unknown) => error instanceof StoreError && error.storeCode === "UNUSABLE" && /in use by process/.test(error.message));
  } finally {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
  }
});

function countTemp(dir: string): number {
  let count = 0;
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(path, entry.name));
      else if (entry.name.endsWith(".tmp")) count++;
    }
  };
  walk(dir);
  return count;
}
