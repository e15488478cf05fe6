import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { summarise } from "../../bench/profile-summary.ts";

// A real V8 profile of a process that spends most of its busy time in one
// named function, then sleeps: the summary must find both.
const SCRIPT = `
function spinOnPurpose(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
spinOnPurpose(400);
setTimeout(() => {}, 300);
`;

test("the profile summary charges busy time to the function that spent it and leaves idle time apart", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-profile-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, "-e", SCRIPT], { timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr.toString());
  const files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  assert.ok(files.length >= 1, "node wrote a profile");
  const profiles = files.map((name) => JSON.parse(readFileSync(join(dir, name), "utf8")));
  const { busy, idle, parts, functions } = summarise(profiles, 0);
  assert.ok(busy >= 300_000, `at least the 400 ms spin is busy time (${busy} µs)`);
  assert.ok(idle >= 150_000, `the 300 ms wait is idle time (${idle} µs)`);
  const partsTotal = [...parts.values()].reduce((sum, us) => sum + us, 0);
  assert.equal(partsTotal, busy, "every busy microsecond is in exactly one part");
  const [top] = [...functions].sort((a, b) => b[1] - a[1]);
  assert.match(top![0], /^spinOnPurpose /, "the spinning function costs most");
  assert.ok(top![1] / busy > 0.5, "and most of the busy time");
  // Leaving out the first second leaves out the spin.
  const later = summarise(profiles, 1_000);
  assert.ok(later.busy < busy / 4, `from 1 s on, little is busy (${later.busy} µs)`);
});
