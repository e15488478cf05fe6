// Idempotency records and entity documents alone, a missing client library, and the directory store's log
// changed or torn on disk, or in its earlier layout.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeEntityDocument, encodeEntityDocument, findCompleted, openDirectoryStore, recordCompleted, StoreError } from "../../src/entity/index.ts";
import { importOptional } from "../../src/entity/optional-import.ts";
import { encodeRecord } from "../../src/entity/file-io.ts";
import { encodeBody } from "../../src/wire/codec.ts";

test("completed calls: found within the retention window only; older ones and those past maxRecords are dropped", () => {
  let records = recordCompleted([], { id: "a", at: 1_000, result: 1 }, 1_000, 500, 3);
  records = recordCompleted(records, { id: "b", at: 1_200, result: 2 }, 1_200, 500, 3);
  assert.equal(findCompleted(records, "a", 1_400, 500)?.result, 1);
  assert.equal(findCompleted(records, "a", 1_500, 500), undefined, "exactly at the window's end it no longer counts");
  records = recordCompleted(records, { id: "c", at: 1_600, result: 3 }, 1_600, 500, 3);
  assert.deepEqual(records.map((r) => r.id), ["b", "c"], "a is past the window and dropped");
  records = recordCompleted(records, { id: "d", at: 1_601, result: 4 }, 1_601, 500, 3);
  records = recordCompleted(records, { id: "e", at: 1_602, result: 5 }, 1_602, 500, 3);
  assert.deepEqual(records.map((r) => r.id), ["c", "d", "e"], "beyond maxRecords the oldest go");
  assert.equal(findCompleted(records, "zz", 1_602, 500), undefined);
});

test("entity documents: state and records round-trip; foreign or hostile bytes are CORRUPT, never a crash", () => {
  const document = { state: { items: ["x", "y"], total: 3, at: new Date(5), raw: new Uint8Array([1, 2]) }, completed: [{ id: "k", at: 9, result: { ok: true } }] };
  // Bytes come back as a Buffer (a Uint8Array), as they do off the wire.
  assert.deepEqual(decodeEntityDocument(encodeEntityDocument(document)), { ...document, state: { ...document.state, raw: Buffer.from([1, 2]) } });
  assert.deepEqual(decodeEntityDocument(encodeEntityDocument({ state: undefined, completed: [] })), { state: null, completed: [] });
  const hostile = [
    new Uint8Array([0xc1]),
    encodeBody({ f: 2, s: 1, c: [] }),
    encodeBody({ f: 1, s: 1, c: [["id-without-time"]] }),
    encodeBody({ f: 1, s: 1, c: "nope" }),
    encodeBody("just a string"),
  ];
  for (const bytes of hostile) {
    assert.throws(() => decodeEntityDocument(bytes), (error: unknown) => error instanceof StoreError && error.storeCode === "CORRUPT" && error.code === "DATA_LOSS");
  }
});

test("a store whose client library is missing fails with UNUSABLE, naming the package", async () => {
  await assert.rejects(importOptional("amoeba-no-such-package", "Example"), (error: unknown) => {
    return error instanceof StoreError && error.storeCode === "UNUSABLE" && /npm install amoeba-no-such-package/.test(error.message);
  });
});

test("directory store: a record changed on disk is refused as DATA_LOSS; a write torn at the end of the log is cut off", async () => {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-entity-corrupt-"));
  try {
    const store = await openDirectoryStore({ dir });
    await store.save("cart/1", new TextEncoder().encode("the real state"), { expectedVersion: 0, token: 1 });
    await store.save("cart/2", new TextEncoder().encode("another state"), { expectedVersion: 0, token: 1 });
    await store.close();
    const log = join(dir, "records.log");
    const whole = readFileSync(log);
    // A byte of the first record changed: damage, not a crash.
    const damaged = Buffer.from(whole);
    damaged[20]! ^= 0xff;
    writeFileSync(log, damaged);
    await assert.rejects(openDirectoryStore({ dir }), (error: unknown) => error instanceof StoreError && error.code === "DATA_LOSS");
    // The last record cut short, as a crash in the middle of its write leaves it: it was never acknowledged.
    writeFileSync(log, whole.subarray(0, whole.length - 5));
    const reopened = await openDirectoryStore({ dir });
    assert.equal(new TextDecoder().decode((await reopened.load("cart/1")).data), "the real state");
    assert.equal((await reopened.load("cart/2")).version, 0);
    await reopened.save("cart/2", new TextEncoder().encode("saved again"), { expectedVersion: 0, token: 1 });
    await reopened.close();
    const again = await openDirectoryStore({ dir });
    assert.equal(new TextDecoder().decode((await again.load("cart/2")).data), "saved again", "the log was cut where the torn write began");
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("directory store: records of the earlier layout (a file per record) are taken into the log", async () => {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-entity-layout-"));
  try {
    mkdirSync(join(dir, "e", "ab"), { recursive: true });
    writeFileSync(join(dir, "e", "ab", "abcdef"), encodeRecord({ k: "cart/old", v: 3, t: 2, d: new TextEncoder().encode("kept") }));
    const store = await openDirectoryStore({ dir });
    const loaded = await store.load("cart/old");
    assert.deepEqual([loaded.version, loaded.token, new TextDecoder().decode(loaded.data)], [3, 2, "kept"]);
    await store.close();
    assert.equal(existsSync(join(dir, "e")), false, "the old files are gone once in the log");
    const reopened = await openDirectoryStore({ dir });
    assert.equal((await reopened.load("cart/old")).version, 3);
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("directory store: a log that is mostly old versions is compacted, and keeps every latest one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-entity-compact-"));
  try {
    const store = await openDirectoryStore({ dir });
    const value = (key: string, version: number) => new Uint8Array(100 * 1024).fill((key.length * 31 + version) % 251);
    const versions = new Map<string, number>();
    // 2 keys × 60 saves of 100 KiB: 12 MiB written, 200 KiB live.
    for (let i = 0; i < 60; i++) {
      for (const key of ["big/a", "big/b"]) {
        const version = await store.save(key, value(key, i), { expectedVersion: versions.get(key) ?? 0, token: 1 });
        versions.set(key, version);
      }
    }
    await store.close();
    const size = readFileSync(join(dir, "records.log")).length;
    assert.ok(size < 9 * 1024 * 1024, `the log was compacted (${size} bytes)`);
    const reopened = await openDirectoryStore({ dir });
    for (const key of ["big/a", "big/b"]) {
      const loaded = await reopened.load(key);
      assert.equal(loaded.version, versions.get(key));
      assert.ok(Buffer.from(loaded.data!).equals(Buffer.from(value(key, 59))), `${key} holds its latest value`);
    }
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
