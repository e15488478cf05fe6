/**
 * The package installed from git, as `npm install github:…` does it: npm
 * clones the repository at a commit, installs its development dependencies
 * and runs `prepare`, which builds dist/, then packs and installs the result.
 * Here the repository is this checkout (its committed HEAD), through a
 * `git+file://` URL, with npm's cache preferred for the dependencies.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { hasCommand } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { pinned, ROOT, run, tempDir, writeFiles } from "./project.ts";

const MINUTE = 60_000;

test("installed from git, prepare builds dist/: the library imports and the amoeba command runs", { timeout: 4 * MINUTE }, async (t) => {
  const unavailable = !hasCommand("git") ? "git is needed to install from git" : !existsSync(join(ROOT, ".git")) ? "this checkout is not a git repository" : null;
  if (!requireOrSkip(t, unavailable === null, unavailable ?? "")) return;
  const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const dir = await tempDir("amoeba-git-install-");
  t.after(() => dir.dispose());
  await writeFiles(dir.path, { "package.json": JSON.stringify({ name: "amoeba-git-user", private: true, type: "module" }) });
  const install = await run("npm", ["install", `git+file://${ROOT}#${head}`, await pinned("zod"), "--prefer-offline", "--no-audit", "--no-fund"], dir.path, 3 * MINUTE);
  assert.equal(install.code, 0, install.stderr);
  const installed = join(dir.path, "node_modules", "amoeba");
  assert.ok(existsSync(join(installed, "dist", "index.js")), "prepare built dist/");
  assert.ok(!existsSync(join(installed, "src")), "the sources stay out of the package, as in the tarball");
  const version = await run("node", [join(installed, "bin", "amoeba.js"), "--version"], dir.path, MINUTE);
  const { version: expected } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.deepEqual([version.code, version.stdout.trim()], [0, expected], version.stderr);
  const imported = await run("node", ["--input-type=module", "-e", 'const m = await import("amoeba"); console.log(typeof m.startNode, typeof m.tokenTable)'], dir.path, MINUTE);
  assert.deepEqual([imported.code, imported.stdout.trim()], [0, "function function"], imported.stderr);
});
