// Idempotency records and entity documents alone, a missing client library, and a record file changed on disk.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeEntityDocument, encodeEntityDocument, findCompleted, openDirectoryStore, recordCompleted, StoreError } from "../../src/entity/index.ts";
import { importOptional } from "../../src/entity/optional-import.ts";
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

test("directory store: a record changed on disk is refused as DATA_LOSS, not read as state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-entity-corrupt-"));
  try {
    const store = await openDirectoryStore({ dir });
    await store.save("cart/1", new TextEncoder().encode("the real state"), { expectedVersion: 0, token: 1 });
    await store.close();
    const file = findRecord(join(dir, "e"));
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(file, bytes);
    const reopened = await openDirectoryStore({ dir });
    await assert.rejects(reopened.load("cart/1"), (error: unknown) => error instanceof StoreError && error.code === "DATA_LOSS");
    writeFileSync(file, bytes.subarray(0, 5));
    await assert.rejects(reopened.load("cart/1"), (error: unknown) => error instanceof StoreError && error.code === "DATA_LOSS");
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function findRecord(dir: string): string {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findRecord(path);
    return path;
  }
  throw new Error(`no record under ${dir}`);
}
