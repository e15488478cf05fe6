// examples/entities/main.ts run as a user would: each key on its owner, an idempotent deposit counted
// once, and a reminder that rings on the node an account moved to after its owner closed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("examples/entities: calls by key, an idempotency key, a hand-off and a reminder that survives it", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "examples/entities/main.ts"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const out = run.stdout;
  assert.match(out, /^three nodes serve account: bank-1, bank-2, bank-3$/m);
  assert.equal(out.match(/^deposit 10000 cents to \w+: ran on bank-[123], its owner$/gm)?.length, 3, out);
  assert.match(out, /twice with idempotency key transfer-77: balance 10500 \(counted once\)/);
  const owner = /now (bank-[123]), her owner, closes/.exec(out)![1]!;
  const moved = /ada's account moved to (bank-[123]) with its state: balance 10500/.exec(out)![1]!;
  assert.notEqual(moved, owner);
  assert.match(out, new RegExp(`interest: 105 cents paid to ada on ${moved}`));
  assert.match(out, new RegExp(`ada after interest: balance 10605 on ${moved}`));
});
