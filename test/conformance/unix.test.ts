// Conformance over a Unix socket.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { socketFixture } from "./fixture.ts";
import { runConformance } from "./suite.ts";

const dir = mkdtempSync(join(tmpdir(), "amoeba-conformance-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runConformance("unix://", socketFixture(() => `unix://${join(dir, `s${++n}.sock`)}`));
