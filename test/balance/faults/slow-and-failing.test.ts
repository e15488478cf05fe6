/**
 * One server made ten times slower and another failing half its calls, at
 * runtime: the caller's traffic (executions per server over a window) moves
 * away from both, no call fails, and once they recover both get their share
 * of the traffic again within a bounded time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Probe } from "../fixture.ts";
import { drive, Fixture, instancesSeen, record, sleep, tally, type Server } from "./harness.ts";

const BASE_MS = 30;
const RATE = 200;
/** Ejections last at most this long here, so that they are not what keeps a recovered server out. */
const MAX_EJECTION_MS = 2_000;
/**
 * How soon a recovered server must have its share back: the longest ejection,
 * plus the fade of a peak-EWMA latency estimate (10 s time constant) from a
 * penalised value to the others' level, with room for a loaded machine.
 */
const RECOVERY_BOUND_MS = 25_000;

/** Executions per server now. */
const snapshot = (servers: readonly Server[]): Promise<number[]> => Promise.all(servers.map(async (s) => (await s.counts()).executions));

/** Each server's share of the executions between two snapshots, 0..1. */
function shares(before: readonly number[], after: readonly number[]): number[] {
  const deltas = after.map((count, i) => count - before[i]!);
  const sum = deltas.reduce((a, b) => a + b, 0);
  return deltas.map((d) => (sum === 0 ? 0 : d / sum));
}

const pct = (values: readonly number[]): string => values.map((v) => `${Math.round(v * 100)} %`).join(" / ");

test("traffic moves away from a slow and a failing server, and back once they recover", async (t) => {
  const fixture = new Fixture(t, "degrade");
  const caller = await fixture.caller({ balance: { outliers: { baseEjectionMs: 500, maxEjectionMs: MAX_EJECTION_MS } } });
  const servers = await fixture.startAll("s", 4, { behaviour: { delayMs: BASE_MS, jitterMs: 0 }, labels: { pool: "probe" } });
  await instancesSeen(caller, servers);
  const [, slow, failing] = servers as [Server, Server, Server, Server];

  // Warm-up through a throwaway balancer: the first calls to fresh processes take
  // hundreds of ms (connections, compilation), and a peak-EWMA remembers such a
  // peak for tens of seconds. The measured client's balancer (its labels select
  // another one) starts afterwards, over the connections already open.
  const warm = caller.client(Probe, { timeout: 5_000 });
  await drive({ ratePerSecond: RATE, count: 300, maxInFlight: 40, call: (i) => record(i, "who", `w${i}`, () => warm.who({ key: `w${i}` })) });
  const client = caller.client(Probe, { timeout: 5_000, labels: { pool: "probe" } });

  const stopLoad = new AbortController();
  t.after(() => stopLoad.abort());
  const load = drive({
    ratePerSecond: RATE,
    count: RATE * 40, // a cap; the test stops it sooner
    maxInFlight: 40,
    signal: stopLoad.signal,
    call: (i) => record(i, "who", `k${i}`, () => client.who({ key: `k${i}` })),
  });
  const healthyMean = (share: readonly number[]): number => (share[0]! + share[3]!) / 2;

  // Baseline: everyone gets traffic.
  await sleep(1_000);
  const a = await snapshot(servers);
  await sleep(1_500);
  const baseline = shares(a, await snapshot(servers));

  // Degraded: s1 ten times slower, s2 failing every other call.
  await Promise.all([slow.set({ delayMs: BASE_MS * 10 }), failing.set({ failShare: 0.5 })]);
  await sleep(1_000);
  const c = await snapshot(servers);
  // For the report: how high the balancer's latency estimate of the failing server went.
  let peakFailingEwma = 0;
  const ewmaSampler = setInterval(() => {
    for (const i of caller.stats().services.filter((s) => s.service === Probe.name).at(-1)?.instances ?? []) {
      if (i.node === failing.name) peakFailingEwma = Math.max(peakFailingEwma, i.ewmaMs);
    }
  }, 50);
  await sleep(3_000);
  clearInterval(ewmaSampler);
  const degraded = shares(c, await snapshot(servers));
  const failedWhileDegraded = (await failing.counts()).failed;

  // Recovered: poll one-second windows until both have their share back.
  await Promise.all([slow.set({ delayMs: BASE_MS }), failing.set({ failShare: 0 })]);
  const recoveredAt = performance.now();
  const back: { slow?: number; failing?: number } = {};
  const history: Array<{ at: number; counts: number[] }> = [{ at: recoveredAt, counts: await snapshot(servers) }];
  let last: number[] = [];
  while (performance.now() - recoveredAt < RECOVERY_BOUND_MS && (back.slow === undefined || back.failing === undefined)) {
    await sleep(250);
    const now = performance.now();
    history.push({ at: now, counts: await snapshot(servers) });
    const from = history.findLast((h) => now - h.at >= 1_000);
    if (!from) continue;
    last = shares(from.counts, history.at(-1)!.counts);
    // "Its share back": at least half of what each healthy server gets.
    if (back.slow === undefined && last[1]! >= healthyMean(last) / 2) back.slow = now - recoveredAt;
    if (back.failing === undefined && last[2]! >= healthyMean(last) / 2) back.failing = now - recoveredAt;
  }
  stopLoad.abort();
  const records = await load;
  // The measured client's balancer was made last.
  const figures = (caller.stats().services.filter((s) => s.service === Probe.name).at(-1)?.instances ?? [])
    .map((i) => `${i.node}: ewma ${i.ewmaMs} ms, ${i.state}, ${i.ejections} ejections`)
    .join("; ");
  t.diagnostic(
    `shares s0/s1/s2/s3 — baseline ${pct(baseline)}; degraded (s1 slow, s2 failing) ${pct(degraded)}; last window ${pct(last)}; ` +
      `back after: slow ${back.slow === undefined ? "never" : `${Math.round(back.slow)} ms`}, failing ${back.failing === undefined ? "never" : `${Math.round(back.failing)} ms`}; ` +
      `${records.length} calls: ${JSON.stringify(tally(records, (r) => (r.ok ? "ok" : r.code!)))}; s2 failed ${failedWhileDegraded} calls, its ewma peaked at ${Math.round(peakFailingEwma)} ms; balancer: ${figures}`,
  );

  await t.test("traffic moves away from both, and no call fails", () => {
    for (const [i, share] of baseline.entries()) assert.ok(share >= 0.05, `s${i} got ${pct([share])} of the baseline traffic`);
    assert.ok(failedWhileDegraded > 0, "the failing server did fail calls");
    // Not to nothing: p2c compares two instances at a time, so when it draws the
    // slow and the failing one together one of them wins (1/6 of the draws); and
    // the failing server's error rate is measured over 10 s of mostly healthy
    // history, so it may stay in rotation, only penalised.
    assert.ok(degraded[1]! < 0.6 * healthyMean(degraded), `the slow server's share ${pct([degraded[1]!])} vs ${pct([healthyMean(degraded)])} for a healthy one`);
    assert.ok(degraded[2]! < 0.6 * healthyMean(degraded), `the failing server's share ${pct([degraded[2]!])} vs ${pct([healthyMean(degraded)])} for a healthy one`);
    // Retries on other instances hid every failure of the failing server.
    assert.deepEqual(records.filter((r) => !r.ok).map((r) => `${r.code}: ${r.message}`), [], "no call failed");
  });

  await t.test(`both get their share back within ${RECOVERY_BOUND_MS / 1_000} s of recovering`, () => {
    assert.ok(back.slow !== undefined, `the slow server did not get its share back (last window ${pct(last)}; ${figures})`);
    assert.ok(back.failing !== undefined, `the failing server did not get its share back (last window ${pct(last)}; ${figures})`);
  });
});
