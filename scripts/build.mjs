#!/usr/bin/env node
// Builds the package into dist/ (run by `npm run build`, and by `prepare`, so
// that `npm ci`, `npm pack` and installs from git or a folder get it too):
//
//   1. tsc compiles src/ to JavaScript and declarations;
//   2. esbuild bundles the browser client into one module,
//      dist/browser/amoeba-client.js, which the edge serves as
//      /amoeba-client.js — so the installed package needs no bundler;
//   3. the browser entry of "amoeba" (dist/shared.js, what a contract file
//      imports when bundled for a page) is bundled once for the browser as a
//      check: a Node built-in that crept into it fails the build here, not
//      in a user's bundler.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const started = Date.now();

let compiler;
try {
  compiler = require.resolve("typescript/bin/tsc");
  require.resolve("esbuild");
} catch {
  // Installed from a folder, npm links it as it is and runs this without its
  // development dependencies: a dist/ built before is then what there is.
  if (existsSync(new URL("../dist/index.js", import.meta.url))) {
    console.warn("amoeba: typescript and esbuild are not installed here; keeping the dist/ built before");
    process.exit(0);
  }
  console.error(`amoeba: cannot build dist/: the development dependencies (typescript, esbuild) are not installed in ${root}. Run \`npm install\` there first.`);
  process.exit(1);
}

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [compiler, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const { build } = await import("esbuild");
const browser = { bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "warning", legalComments: "none", absWorkingDir: root };
try {
  await build({ ...browser, entryPoints: ["dist/browser/index.js"], outfile: "dist/browser/amoeba-client.js" });
  await build({ ...browser, entryPoints: ["dist/shared.js"], write: false });
} catch {
  // esbuild has printed what failed.
  process.exit(1);
}
console.log(`built dist/ in ${Date.now() - started} ms`);
