/**
 * Where a process's CPU time went, from the V8 CPU profiles `npm run bench
 * -- --cpu-prof DIR` writes: the busy time (idle left out) sorted into
 * parts (socket writes, reads, the wire codec, Amoeba's layers, GC, …) and
 * the functions that cost most by their own time.
 *
 *   node --import tsx bench/profile-summary.ts DIR/amoeba-tcp-server [--top N] [--from-ms T]
 *
 * `--from-ms T` leaves out the first T ms of each profile (start-up and
 * warm-up). Multiply a part's share by the bench's CPU µs/call of that
 * process to get its µs per call (docs/performance.md does).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The parts, first match wins: a frame's own time is charged to the part its function or file names. */
const PARTS: ReadonlyArray<[part: string, test: (name: string, url: string) => boolean]> = [
  ["socket writes (kernel)", (name) => name === "writeBuffer" || name === "writev" || name === "writeUtf8String" || name === "writeLatin1String"],
  ["socket reads (kernel, stream)", (name, url) => name === "onStreamRead" || url.includes("stream_base_commons") || url.includes("internal/streams/")],
  ["garbage collection", (name) => name === "(garbage collector)"],
  ["msgpack (msgpackr)", (_name, url) => url.includes("msgpackr")],
  ["schema validation (zod)", (_name, url) => url.includes("/zod/")],
  ["HTTP parsing and writing (node:http)", (_name, url) => url.includes("_http_") || url.includes("internal/http")],
  ["promises and microtasks", (name, url) => name === "runMicrotasks" || url.includes("task_queues") || url.includes("async_hooks")],
  ["timers, immediates", (_name, url) => url.includes("internal/timers")],
  ["events, AbortSignal", (_name, url) => url === "node:events" || url.includes("event_target") || url.includes("abort_controller")],
  ["wire framing (amoeba wire/)", (_name, url) => /\/(src|dist)\/wire\//.test(url)],
  ["transport (amoeba transport/)", (_name, url) => /\/(src|dist)\/transport\//.test(url)],
  ["calls (amoeba rpc/)", (_name, url) => /\/(src|dist)\/rpc\//.test(url)],
  ["node, balancing, routes (amoeba node/, balance/, route*/)", (_name, url) => /\/(src|dist)\/(node|balance|route|route-rules)\//.test(url)],
  ["edge (amoeba edge/)", (_name, url) => /\/(src|dist)\/edge\//.test(url)],
  ["entities (amoeba entity/)", (_name, url) => /\/(src|dist)\/entity\//.test(url)],
  ["other amoeba", (_name, url) => /\/(src|dist)\//.test(url) && !url.includes("node_modules")],
  ["module loading", (_name, url) => url.includes("internal/modules") || url.includes("register-") || url.includes("use-built") || url.includes("bootstrap")],
  ["buffers, strings", (name, url) => url === "node:buffer" || url.includes("internal/buffer") || url.includes("internal/encoding") || name === "utf8Slice" || name === "latin1Slice"],
  ["net (node:net)", (_name, url) => url === "node:net" || url.includes("internal/net")],
  ["the bench's own code", (_name, url) => url.includes("/bench/")],
  ["V8 (program)", (name) => name === "(program)"],
];

/** Own time per part and per function over the profiles, in µs, from `fromMs` into each. */
export function summarise(profiles: readonly CpuProfile[], fromMs: number): { busy: number; idle: number; parts: Map<string, number>; functions: Map<string, number> } {
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let elapsed = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const delta = profile.timeDeltas[i] ?? 0;
      elapsed += delta;
      if (elapsed < fromMs * 1000) continue;
      const frame = byId.get(profile.samples[i]!)!.callFrame;
      if (frame.functionName === "(idle)") {
        idle += delta;
        continue;
      }
      busy += delta;
      const part = PARTS.find(([, test]) => test(frame.functionName, frame.url))?.[0] ?? "other (node internals, libraries)";
      parts.set(part, (parts.get(part) ?? 0) + delta);
      const where = frame.url.replace(/^.*\/(src|dist|node_modules|bench)\//, "$1/");
      const key = `${frame.functionName || "(anonymous)"} ${where}${where ? `:${frame.lineNumber + 1}` : ""}`;
      functions.set(key, (functions.get(key) ?? 0) + delta);
    }
  }
  return { busy, idle, parts, functions };
}

function main(argv: readonly string[]): void {
  const dir = argv[0];
  if (dir === undefined || dir.startsWith("--")) {
    console.error("usage: node --import tsx bench/profile-summary.ts DIR [--top N] [--from-ms T]");
    process.exit(2);
  }
  const option = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    return i < 0 ? fallback : Number(argv[i + 1]);
  };
  const files = statSync(dir).isDirectory() ? readdirSync(dir).filter((name) => name.endsWith(".cpuprofile")).map((name) => join(dir, name)) : [dir];
  const profiles = files.map((file) => JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  const { busy, idle, parts, functions } = summarise(profiles, option("--from-ms", 0));
  const share = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  console.log(`${files.length} profile(s): busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
  console.log("\nbusy time by part:");
  for (const [part, us] of [...parts].sort((a, b) => b[1] - a[1])) console.log(`  ${share(us)}  ${part}`);
  console.log(`\nfunctions by own time (top ${option("--top", 25)}):`);
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, option("--top", 25))) console.log(`  ${share(us)}  ${name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
