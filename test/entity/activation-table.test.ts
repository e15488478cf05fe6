// The activation table alone, on a manual clock: activation on first call, turns, idle passivation, hand-off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ActivationTable, type Timers } from "../../src/entity/index.ts";
import { RpcError } from "../../src/rpc/rpc-error.ts";

/** Timers that fire only when the test moves the clock. */
class ManualTimers implements Timers {
  #now = 0;
  readonly #pending = new Map<number, { at: number; callback: () => void }>();
  #next = 0;

  set(callback: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#pending.set(id, { at: this.#now + ms, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  now(): number {
    return this.#now;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Moves the clock on by `ms`, firing what falls due. */
  advance(ms: number): void {
    this.#now += ms;
    for (const [id, timer] of [...this.#pending]) {
      if (timer.at <= this.#now) {
        this.#pending.delete(id);
        timer.callback();
      }
    }
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

interface Counter {
  key: string;
  value: number;
}

/** A table over an in-memory "store" whose loads and saves the test can count. */
function counterTable(idleMs = 1_000) {
  const timers = new ManualTimers();
  const saved = new Map<string, number>();
  const log: string[] = [];
  let failNextLoad = false;
  const table = new ActivationTable<Counter>({
    idleMs,
    timers,
    activate: async (key) => {
      log.push(`load ${key}`);
      await Promise.resolve();
      if (failNextLoad) {
        failNextLoad = false;
        throw new Error("store down");
      }
      return { key, value: saved.get(key) ?? 0 };
    },
    passivate: async (key, counter) => {
      log.push(`save ${key}=${counter.value}`);
      await Promise.resolve();
      saved.set(key, counter.value);
    },
  });
  return { table, timers, saved, log, failLoad: () => (failNextLoad = true) };
}

test("the first call activates (loads once, even for calls arriving together); turns see one activation", async () => {
  const { table, log } = counterTable();
  const results = await Promise.all(
    Array.from({ length: 10 }, () =>
      table.call("a", "write", async (counter) => {
        const before = counter.value;
        await Promise.resolve();
        counter.value = before + 1; // lost updates would show if turns overlapped
        return counter.value;
      }),
    ),
  );
  assert.deepEqual(results, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(log, ["load a"]);
  assert.ok(table.has("a"));
  assert.equal(await table.call("b", "read", (counter) => counter.value), 0);
  assert.deepEqual(log, ["load a", "load b"]);
});

test("an idle key passivates after idleMs, its state saved first; a later call activates it from the saved state", async () => {
  const { table, timers, saved, log } = counterTable(1_000);
  await table.call("a", "write", (counter) => void (counter.value = 7));
  timers.advance(999);
  await settle();
  assert.ok(table.has("a"));
  // A call before the time is up starts the idle time again.
  await table.call("a", "read", (counter) => counter.value);
  timers.advance(999);
  await settle();
  assert.ok(table.has("a"));
  timers.advance(1);
  await settle();
  assert.equal(table.has("a"), false);
  assert.equal(saved.get("a"), 7);
  assert.equal(await table.call("a", "read", (counter) => counter.value), 7);
  assert.deepEqual(log, ["load a", "save a=7", "load a"]);
});

test("passivation waits for turns queued before it; calls arriving during it wait, then activate afresh", async () => {
  const { table, log } = counterTable();
  let release!: () => void;
  const slow = table.call("a", "write", async (counter) => {
    await new Promise<void>((resolve) => (release = resolve));
    counter.value = 1;
  });
  await settle();
  const ending = table.passivate("a");
  const later = table.call("a", "write", (counter) => {
    log.push(`turn sees ${counter.value}`);
    counter.value++;
  });
  await settle();
  assert.deepEqual(log, ["load a"], "nothing saved or loaded while the turn runs");
  release();
  await Promise.all([slow, ending, later]);
  assert.deepEqual(log, ["load a", "save a=1", "load a", "turn sees 1"]);
});

test("a failed activation fails its turn and is tried again by the next; discard drops state known to be wrong", async () => {
  const { table, saved, log, failLoad } = counterTable();
  failLoad();
  await assert.rejects(table.call("a", "write", () => 1), /store down/);
  assert.equal(table.has("a"), false, "a key whose activation failed keeps no entry");
  saved.set("a", 5);
  assert.equal(await table.call("a", "read", (counter) => counter.value), 5);
  await table.call("a", "write", (counter, turn) => {
    counter.value = 999; // a save was refused: this state must not live on
    turn.discard();
  });
  assert.equal(await table.call("a", "read", (counter) => counter.value), 5);
  assert.deepEqual(log, ["load a", "load a", "load a"]);
});

test("close passivates every key and refuses later calls as unprocessed UNAVAILABLE", async () => {
  const { table, timers, saved } = counterTable();
  for (const key of ["a", "b", "c"]) await table.call(key, "write", (counter) => void (counter.value = key.charCodeAt(0)));
  await table.close();
  assert.equal(table.size, 0);
  assert.deepEqual([...saved.entries()].sort(), [["a", 97], ["b", 98], ["c", 99]]);
  assert.equal(timers.pending, 0, "no idle timer left behind");
  await assert.rejects(table.call("a", "read", () => 0), (error: unknown) => error instanceof RpcError && error.code === "UNAVAILABLE" && error.unprocessed);
});
