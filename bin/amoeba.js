#!/usr/bin/env node
// The `amoeba` command. For now it runs the TypeScript sources through tsx
// (a runtime dependency), which also lets `amoeba serve` import .ts modules.
// Once the package ships built JavaScript in dist/, this is where to import
// dist/cli/main.js instead (keeping tsx for users' .ts modules).
import { register as registerEsm } from "tsx/esm/api";
import { register as registerCjs } from "tsx/cjs/api";

registerEsm();
// .ts files in a package without "type": "module" load as CommonJS.
registerCjs();

const { runCli } = await import("../src/cli/main.ts");
await runCli(process.argv.slice(2));
