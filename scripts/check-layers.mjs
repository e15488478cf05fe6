#!/usr/bin/env node
// Keeps the layer picture of docs/architecture.md true: every import in src/
// points down (or within its own layer), and no files import each other in a
// loop, `import type` included. Run by `npm test`; exits 1 with each offence.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** Each top-level folder or file of src/, and its floor: imports may only point to the same floor or lower. */
const FLOORS = {
  "wire": 0,
  "logger.ts": 0,
  "metrics": 1,
  "transport": 1,
  "rpc": 2,
  "shared.ts": 3,
  "browser": 3,
  "observe": 3,
  "lookup": 3,
  "engine.ts": 4,
  "balance": 5,
  "route-rules": 6,
  "node": 7,
  "route": 8,
  "entity": 8,
  "nats": 8,
  "edge": 9,
  "dashboard": 10,
  "cli": 11,
  "index.ts": 9,
};

const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

const root = "src";
const all = files(root).map((file) => relative(root, file));
const graph = new Map(all.map((file) => [file, []]));
const problems = [];
const roomOf = (file) => file.split("/")[0];

for (const file of all) {
  const text = readFileSync(join(root, file), "utf8");
  const room = roomOf(file);
  if (!(room in FLOORS)) problems.push(`${file}: ${room} has no floor in scripts/check-layers.mjs; add it where it belongs`);
  for (const match of text.matchAll(IMPORT)) {
    const target = normalize(join(dirname(file), match[1] ?? match[2]));
    if (target.startsWith("..")) continue; // outside src/ (never in the package)
    if (!graph.has(target)) continue;
    graph.get(file).push(target);
    const to = roomOf(target);
    if (FLOORS[to] > FLOORS[room]) problems.push(`${file} imports ${target}: ${room} (floor ${FLOORS[room]}) may not import ${to} (floor ${FLOORS[to]})`);
  }
}

// Import loops: strongly connected components of more than one file (Tarjan).
let index = 0;
const stack = [];
const state = new Map();
function connect(file) {
  const mine = { index, low: index, onStack: true };
  index++;
  state.set(file, mine);
  stack.push(file);
  for (const next of graph.get(file)) {
    const seen = state.get(next);
    if (!seen) {
      connect(next);
      mine.low = Math.min(mine.low, state.get(next).low);
    } else if (seen.onStack) mine.low = Math.min(mine.low, seen.index);
  }
  if (mine.low === mine.index) {
    const loop = [];
    let member;
    do {
      member = stack.pop();
      state.get(member).onStack = false;
      loop.push(member);
    } while (member !== file);
    if (loop.length > 1) problems.push(`import loop: ${loop.sort().join(", ")}`);
  }
}
for (const file of all) if (!state.has(file)) connect(file);

if (problems.length > 0) {
  console.error(`layers: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`layers: ${all.length} files of src/, every import points down, no import loop`);
