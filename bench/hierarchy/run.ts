/**
 * A thousand clusters in simulation, with the real code.
 *
 *   node --import tsx bench/hierarchy/run.ts [--quick] [--seed N] [--no-aggregate]
 *        [--regions R --sites S --lans L] [--services N] [--globals G] [--pairs P]
 *
 * Full: 1 core, 10 regions, 9 sites each, 10 LANs per site (1,001 clusters),
 * 10,000 services, two gateways on every link (2,000 gateways, 4,000
 * members), two service nodes per LAN; every node runs the real membership
 * and catalog code on the simulated network, every gateway the real route
 * computation, every call the real route selection (docs/routing.md, "A
 * thousand clusters in simulation"). `--quick`: 3 × 3 × 3 (40 clusters),
 * 1,000 services. Prints a table and the targets, and writes
 * bench/results/hierarchy-latest.json. Times are simulated.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { goalLines, type Goal } from "../lookup/report.ts";
import { renderTable } from "../lib/table.ts";
import { runHierarchy, type HierarchyResult, type RunLimits, type Spread } from "./scenario.ts";
import { clusterCount, type Shape } from "./topology.ts";

/** The shape, limits and seed `argv` asks for. */
export function parseArgs(argv: readonly string[]): { shape: Shape; limits: RunLimits; seed: number; quick: boolean } {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, fallback: number, min = 1): number => {
    const text = value(flag);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`${flag} takes an integer ≥ ${min}, not "${text}"`);
    return n;
  };
  const quick = argv.includes("--quick");
  const shape: Shape = {
    regions: int("--regions", quick ? 3 : 10),
    sitesPerRegion: int("--sites", quick ? 3 : 9),
    lansPerSite: int("--lans", quick ? 3 : 10),
    nodesPerLan: 2,
    services: int("--services", quick ? 1_000 : 10_000),
    globals: int("--globals", quick ? 20 : 100, 0),
    aggregate: !argv.includes("--no-aggregate"),
  };
  if (shape.globals >= shape.services) throw new RangeError("--globals must be fewer than --services");
  // Not Math.random: the seed is printed so that any run can be replayed.
  const seed = int("--seed", Date.now() % 1_000_000, 0);
  const limits: RunLimits = { formMs: 180_000, steadyMs: quick ? 10_000 : 20_000, phaseMs: 60_000, pairs: int("--pairs", quick ? 5_000 : 20_000) };
  return { shape, limits, seed, quick };
}

const ms = (value: number): string => (Number.isFinite(value) && value >= 0 ? `${Math.round(value)} ms` : "—");
const spreadText = (s: Spread): string => `${ms(s.p50)} / ${ms(s.max)}${s.missing > 0 ? ` (${s.missing} never)` : ""}`;
const pct = (part: number, whole: number): string => (whole === 0 ? "—" : `${((100 * part) / whole).toFixed(1)} %`);

/** The figures of one run as a table. */
export function resultTable(r: HierarchyResult): string {
  const f = r.regionFailure;
  const rows: string[][] = [
    ["formed: every sampled caller reaches its service (checked each second)", r.formedMs < 0 ? "NOT within the limit" : `${(r.formedMs / 1000).toFixed(1)} s`],
    ["route-table entries per gateway, both clusters (p50 / max)", `${r.entries.p50} / ${r.entries.max}`],
    ["bytes sent per gateway per second, steady (p50 / max)", `${r.bytes.steady.p50.toFixed(0)} / ${r.bytes.steady.max.toFixed(0)}`],
    ["… while a global service appears (p50 / max)", `${r.bytes.change.p50.toFixed(0)} / ${r.bytes.change.max.toFixed(0)}`],
    ["service under an aggregate appears: reached from each LAN (p50 / max)", spreadText(r.appearLocal)],
    ["… disappears: no longer reached from each LAN (p50 / max)", spreadText(r.disappearLocal)],
    ["global service appears: advertised by each gateway (p50 / max)", spreadText(r.appearGlobalGateways)],
    ["… reached from each LAN (p50 / max)", spreadText(r.appearGlobal)],
    ["global service disappears: withdrawn by each gateway (p50 / max)", spreadText(r.disappearGlobalGateways)],
    ["… no longer reached from each LAN (p50 / max)", spreadText(r.disappearGlobal)],
    ["callers that reach their service / at the nearest instance", `${pct(r.reach.reached, r.reach.pairs)} / ${pct(r.reach.nearest, r.reach.pairs)} of ${r.reach.pairs}`],
    ["… global services (a copy in every region): reached / nearest", `${pct(r.reach.globalReached, r.reach.globalPairs)} / ${pct(r.reach.globalNearest, r.reach.globalPairs)} of ${r.reach.globalPairs}`],
    ["most gateways crossed; loops; past the hop limit", `${r.reach.maxHops}; ${r.reach.loops}; ${r.reach.overHops}`],
    [`both gateways of ${f.region} to the core killed: calls settle after`, ms(f.failoverMs)],
    ["… calls lost meanwhile (an instance on their side, not reached)", `${f.lost} of ${f.calls}`],
    ["… calls sent to a dead gateway meanwhile", `${f.deadNode} of ${f.calls}`],
    ["… then, over every pair: to a dead gateway; reachable, not reached", `${f.toDeadAfter}; ${f.missedAfter}`],
    ["wall time; digest", `${(r.wallMs / 1000).toFixed(0)} s; ${r.digest}`],
  ];
  return renderTable([{ title: "figure (simulated time)", align: "left" }, { title: "value", align: "right" }], rows);
}

/** What must hold of any run, and the targets set for it. */
export function hierarchyGoals(r: HierarchyResult): Goal[] {
  const f = r.regionFailure;
  return [
    { name: "every sampled caller reaches every sampled service", met: r.reach.reached === r.reach.pairs && r.reach.globalReached === r.reach.globalPairs, detail: `${r.reach.reached} of ${r.reach.pairs}, global ${r.reach.globalReached} of ${r.reach.globalPairs}` },
    { name: "no route loops or passes the hop limit", met: r.reach.loops === 0 && r.reach.overHops === 0, detail: `${r.reach.loops} loops, ${r.reach.overHops} past the limit, at most ${r.reach.maxHops} gateways` },
    { name: "callers reach the nearest instance", met: r.reach.nearest === r.reach.pairs && r.reach.globalNearest === r.reach.globalPairs, detail: `${pct(r.reach.nearest, r.reach.pairs)}, global ${pct(r.reach.globalNearest, r.reach.globalPairs)}` },
    { name: "a new service is reached from every LAN ≤ 5 s", met: r.appearGlobal.missing === 0 && r.appearLocal.missing === 0 && Math.max(r.appearGlobal.max, r.appearLocal.max) <= 5_000, detail: `global ${ms(r.appearGlobal.max)}, under an aggregate ${ms(r.appearLocal.max)}` },
    { name: "a service gone is withdrawn by every gateway ≤ 5 s", met: r.disappearGlobalGateways.missing === 0 && r.disappearGlobalGateways.max <= 5_000, detail: ms(r.disappearGlobalGateways.max) },
    { name: "after a region's gateways die, no call goes to them and every service still reachable is reached", met: f.failoverMs >= 0 && f.toDeadAfter === 0 && f.missedAfter === 0, detail: `settled after ${ms(f.failoverMs)}` },
    { name: "no call lost during that failover", met: f.lost === 0, detail: `${f.lost} of ${f.calls}` },
  ];
}

const resultsFile = fileURLToPath(new URL("../results/hierarchy-latest.json", import.meta.url));

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { shape, limits, seed, quick } = parseArgs(argv);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`Amoeba hierarchy in simulation — seed ${seed}${quick ? " (quick)" : ""}`);
  log(
    `${clusterCount(shape)} clusters (1 core, ${shape.regions} regions × ${shape.sitesPerRegion} sites × ${shape.lansPerSite} LANs), ${shape.services} services (${shape.globals} global), ` +
      `${shape.nodesPerLan} service nodes per LAN, 2 gateways per link, aggregation ${shape.aggregate ? "on" : "off"}; ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  );
  const result = await runHierarchy(shape, seed, limits, (line) => log(`  ${line}`));
  log("");
  log(resultTable(result));
  log(`\n## Targets`);
  log(goalLines(hierarchyGoals(result)));
  const rest = argv.filter((arg, i) => arg !== "--seed" && argv[i - 1] !== "--seed");
  log(`\nreplay: node --import tsx bench/hierarchy/run.ts ${[...rest, "--seed", String(seed)].join(" ")}`);
  await mkdir(fileURLToPath(new URL("../results/", import.meta.url)), { recursive: true });
  await writeFile(resultsFile, JSON.stringify({ date: new Date().toISOString(), machine: { cores: cpus().length, loadAverage: loadavg(), node: process.version }, ...result }, null, 1));
  log(`results: ${resultsFile}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`hierarchy bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
