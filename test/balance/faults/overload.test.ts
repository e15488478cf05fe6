/**
 * Offered load at ten times what the servers may run at once: servers started
 * with `concurrency` refuse the excess at once with RESOURCE_EXHAUSTED (not
 * processed), so the calls they accept keep about the handler's latency, they
 * never run more than their limit, and their memory stays bounded. Being busy
 * is not being broken: both servers keep serving through the overload, and a
 * load they can carry is spread over both again once it is over.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Node } from "../../../src/index.ts";
import { Probe } from "../fixture.ts";
import { Fixture, instancesSeen, median, ms, percentile, record, sleep, tally, type CallRecord, type ServerCounts } from "./harness.ts";

const SERVERS = 2;
const CONCURRENCY = 8;
const HANDLER_MS = 20;
/** Callers kept busy at once: ten times what the servers together run at once. */
const WORKERS = 10 * SERVERS * CONCURRENCY;
const DURATION_MS = 3_000;
const RSS_BOUND = 300 * 1024 * 1024;

/** What the caller's balancer thinks of each server, for messages. */
function balancerView(caller: Node): string {
  return caller
    .stats()
    .services.flatMap((s) => s.instances)
    .map((i) => `${i.node}: ${i.state}, ${i.ejections} ejections, ewma ${i.ewmaMs} ms`)
    .join("; ");
}

/** `workers` callers each calling again as soon as they have an answer, until `durationMs` passed. */
async function closedLoop(workers: number, durationMs: number, call: (i: number) => Promise<CallRecord>, pauseAfterFailure = 0): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  const until = performance.now() + durationMs;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const r = await call(n++);
      records.push(r);
      // Uniform in [pause / 2, pause × 3 / 2).
      if (!r.ok && pauseAfterFailure > 0) await sleep(pauseAfterFailure * (0.5 + Math.random()));
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return records;
}

test("ten times the servers' concurrency, then a load they can carry", async (t) => {
  const fixture = new Fixture(t, "overload");
  const caller = await fixture.caller();
  const servers = await fixture.startAll("s", SERVERS, { concurrency: CONCURRENCY, behaviour: { delayMs: HANDLER_MS, jitterMs: 0 } });
  await instancesSeen(caller, servers);
  // No retries: each refusal is seen as the server sent it.
  const client = caller.client(Probe, { timeout: 10_000, balance: { retries: 0 } });

  // The overload: ten times the calls the servers may run at once. After a
  // refusal a worker waits one to three handler times, as a client that backs
  // off would: the offered rate stays several times what the servers can serve
  // (800 calls/s), without the caller spinning on refusals.
  const before = await Promise.all(servers.map((s) => s.counts()));
  const started = performance.now();
  const records = await closedLoop(WORKERS, DURATION_MS, (i) => record(i, "who", `k${i}`, () => client.who({ key: `k${i}` })), 2 * HANDLER_MS);
  const elapsed = performance.now() - started;
  const after = await Promise.all(servers.map((s) => s.counts()));
  const during = balancerView(caller);
  const delta = (pick: (c: ServerCounts) => number): number[] => after.map((c, i) => pick(c) - pick(before[i]!));
  const acceptedPerServer = delta((c) => c.executions);

  const accepted = records.filter((r) => r.ok);
  const refused = records.filter((r) => !r.ok && r.code === "RESOURCE_EXHAUSTED");
  const acceptedMs = accepted.map((r) => r.end - r.start);
  const refusedMs = refused.map((r) => r.end - r.start);
  /** Calls the servers could have run in the time: their slots × time / handler time. */
  const capacity = (SERVERS * CONCURRENCY * elapsed) / HANDLER_MS;

  await t.test("the excess is shed at once, accepted calls stay fast, memory stays bounded", (t) => {
    const shed = delta((c) => c.shed).reduce((a, b) => a + b, 0);
    t.diagnostic(
      `${records.length} calls from ${WORKERS} workers in ${Math.round(elapsed)} ms (${Math.round((records.length * 1_000) / elapsed)}/s): ` +
        `${JSON.stringify(tally(records, (r) => (r.ok ? "ok" : `${r.code}${r.unprocessed ? " (unprocessed)" : ""}`)))}; ` +
        `accepted per server ${acceptedPerServer.join(" / ")} (capacity about ${Math.round(capacity)} in all); ` +
        `accepted latency median ${ms(median(acceptedMs))} ms, p90 ${ms(percentile(acceptedMs, 0.9))} ms; refusal latency median ${ms(median(refusedMs))} ms, p90 ${ms(percentile(refusedMs, 0.9))} ms; ` +
        `servers shed ${shed}, most running at once ${after.map((c) => c.maxRunning).join(" / ")}; rss max ${after.map((c) => Math.round(c.maxRss / 1024 / 1024)).join(" / ")} MB`,
    );
    // It was an overload: most calls were refused, and many were accepted.
    assert.ok(refused.length > accepted.length, `${refused.length} refused, ${accepted.length} accepted`);
    assert.ok(accepted.length > 0.1 * capacity, `${accepted.length} accepted of a capacity of about ${Math.round(capacity)}`);
    // Every failure is a refusal, unprocessed, that never reached a handler.
    for (const r of records) if (!r.ok) assert.ok(r.code === "RESOURCE_EXHAUSTED" && r.unprocessed === true, `${r.key}: ${r.code} ${r.message}`);
    assert.equal(shed, refused.length, "every refusal the caller saw was a call the servers shed");
    assert.equal(acceptedPerServer.reduce((a, b) => a + b, 0), accepted.length, "handlers ran exactly the accepted calls");
    // The limit held.
    for (const [i, c] of after.entries()) assert.ok(c.maxRunning <= CONCURRENCY, `s${i} ran ${c.maxRunning} handlers at once`);
    // Time the caller's and the servers' event loops add (a loaded machine adds
    // plenty) is in every answer; what an accepted call takes beyond a refusal
    // is the server's part. Medians, not wall-clock thresholds.
    const extra = median(acceptedMs) - median(refusedMs);
    // Shed at once: a refusal does not wait for a handler to finish.
    assert.ok(extra > HANDLER_MS / 2, `refusals took ${ms(median(refusedMs))} ms, accepted calls ${ms(median(acceptedMs))} ms (medians)`);
    // Accepted calls do not queue behind others: about one handler run more than a refusal.
    assert.ok(extra < 3 * HANDLER_MS, `accepted calls took ${ms(extra)} ms more than refusals (medians) for a ${HANDLER_MS} ms handler`);
    assert.ok(median(acceptedMs) < 10 * HANDLER_MS, `accepted calls took ${ms(median(acceptedMs))} ms (median) for a ${HANDLER_MS} ms handler`);
    // Memory stays bounded.
    for (const [i, c] of after.entries()) assert.ok(c.maxRss < RSS_BOUND, `s${i} reached ${Math.round(c.maxRss / 1024 / 1024)} MB`);
  });

  await t.test("both servers keep serving through the overload: none is taken out for shedding", (t) => {
    t.diagnostic(`accepted per server ${acceptedPerServer.join(" / ")}; balancer: ${during}`);
    for (const [i, count] of acceptedPerServer.entries()) {
      assert.ok(count >= 0.2 * accepted.length, `s${i} accepted ${count} of ${accepted.length} calls during the overload (${during})`);
    }
  });

  await t.test("afterwards, a load within capacity is spread over both servers again", async (t) => {
    const start = await Promise.all(servers.map((s) => s.counts()));
    // Half the servers' concurrency: every call fits.
    const calm = await closedLoop((SERVERS * CONCURRENCY) / 2, 2_000, (i) => record(i, "who", `calm${i}`, () => client.who({ key: `calm${i}` })));
    const end = await Promise.all(servers.map((s) => s.counts()));
    const perServer = end.map((c, i) => c.executions - start[i]!.executions);
    const total = perServer.reduce((a, b) => a + b, 0);
    const view = balancerView(caller);
    t.diagnostic(`${calm.length} calls: ${JSON.stringify(tally(calm, (r) => (r.ok ? "ok" : r.code!)))}; per server ${perServer.join(" / ")}; balancer: ${view}`);
    assert.deepEqual(calm.filter((r) => !r.ok).map((r) => `${r.code}: ${r.message}`), [], "within capacity, every call succeeds");
    for (const [i, count] of perServer.entries()) assert.ok(count >= 0.2 * total, `s${i} ran ${count} of ${total} calls after the overload (${view})`);
  });
});
