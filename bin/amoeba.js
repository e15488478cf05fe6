#!/usr/bin/env node
// The `amoeba` command. Installed, it runs the built JavaScript in dist/ and
// needs no build tool; tsx (an optional peer dependency) is loaded only if
// the module given to `amoeba serve` is TypeScript.
//
// In a checkout of Amoeba itself (src/ sits beside bin/, which the package
// does not ship) it runs the TypeScript sources through tsx, a development
// dependency there, so that a change to src/ needs no rebuild to be tried.
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/main.ts", import.meta.url);
const built = new URL("../dist/cli/main.js", import.meta.url);

let main = built;
if (existsSync(sources) && (await registerTsx())) main = sources;
else if (!existsSync(built)) {
  console.error("amoeba: dist/ is missing: run `npm run build` in the package's folder first.");
  process.exit(1);
}
const { runCli } = await import(main.href);
await runCli(process.argv.slice(2));

async function registerTsx() {
  try {
    const [esm, cjs] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
    esm.register();
    // .ts files in a package without "type": "module" load as CommonJS.
    cjs.register();
    return true;
  } catch {
    // No tsx (a folder installed without its development dependencies): the built files will do.
    return false;
  }
}
