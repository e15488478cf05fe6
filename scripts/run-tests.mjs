#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (Node 20 has no glob
// for .ts files). Extra arguments are passed through, e.g. a file filter:
//   npm test -- test/wire      (only files whose path contains "test/wire")
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith("-"));
const files = find("test")
  .sort()
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
// The installed-package test packs, installs and type-checks as a whole: on a
// busy machine one file of it may outlast the per-test bound, which node's
// runner also applies to each file. It runs apart, with a longer bound.
const isPackageTest = (file) => file.includes(join("test", "package", "installed"));
// The attacks from another host measure how a well-behaved caller fares while
// a node is flooded: beside another test file, they would measure that file.
const runsAlone = (file) => file.includes(join("test", "hostile", "from-another-host"));
const groups = [
  { files: files.filter((file) => !isPackageTest(file) && !runsAlone(file)), timeout: 120_000, concurrency: 2 },
  { files: files.filter(runsAlone), timeout: 120_000, concurrency: 1 },
  { files: files.filter(isPackageTest), timeout: 300_000, concurrency: 2 },
];
let status = 0;
for (const { files: group, timeout, concurrency } of groups) {
  if (group.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, `--test-timeout=${timeout}`, ...flags, ...group],
    { stdio: "inherit" },
  );
  status ||= result.status ?? 1;
}
process.exit(status);
