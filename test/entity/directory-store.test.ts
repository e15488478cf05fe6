// The directory store through the conformance suite: two stores on one directory in one process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openDirectoryStore } from "../../src/entity/index.ts";
import { runStoreConformance } from "./store-suite.ts";

const root = mkdtempSync(join(tmpdir(), "amoeba-entity-dir-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

runStoreConformance("directory", async () => {
  const dir = join(root, `s${++n}`);
  const a = await openDirectoryStore({ dir });
  const b = await openDirectoryStore({ dir });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});
