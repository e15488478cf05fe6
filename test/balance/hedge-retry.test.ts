/**
 * Hedging and retries compose: a hedge that does not go out (one instance, the
 * budget spent, the other instances ejected) leaves the call's retries in place.
 * Real nodes over TCP; each instance counts the attempts it saw.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcError, type Handlers, type Node, type NodeOptions } from "../../src/index.ts";
import { withTeardown, type Teardown } from "../rpc/support.ts";
import { Probe } from "./fixture.ts";

/**
 * Attempts per key across all instances. The first attempt of a key starting
 * with "flaky" waits `flakyMs` and fails UNAVAILABLE (after the handler ran: it
 * is retried only because `who` is idempotent); later attempts answer at once.
 * A `broken` instance fails everything.
 */
function instances(td: Teardown, names: string[], flakyMs: number) {
  const attempts = new Map<string, string[]>();
  const broken = new Set<string>();
  const start = async (caller: NodeOptions = {}) => {
    const servers: Node[] = [];
    for (const name of names) {
      const server = await td.node({ name, listen: "tcp://127.0.0.1:0" });
      const handlers: Handlers<typeof Probe> = {
        who: async ({ key = "" }, ctx) => {
          const seen = attempts.get(key) ?? [];
          attempts.set(key, [...seen, name]);
          if (broken.has(name)) throw new RpcError("UNAVAILABLE", `${name} is broken`);
          // "twice": the second attempt (the hedge) fails at once; the first, as a "flaky" one.
          if (key.startsWith("twice") && seen.length === 1) throw new RpcError("UNAVAILABLE", `${name} failed the hedge`);
          if ((key.startsWith("flaky") || key.startsWith("twice")) && seen.length === 0) {
            await new Promise((resolve) => {
              const timer = setTimeout(resolve, flakyMs);
              ctx.signal.addEventListener("abort", () => clearTimeout(timer));
            });
            throw new RpcError("UNAVAILABLE", `${name} failed this one`);
          }
          return name;
        },
        apply: () => name,
      };
      server.serve(Probe, handlers);
      servers.push(server);
    }
    const node = await td.node({ name: "caller", ...caller });
    for (const server of servers) await node.connect(server.addresses[0]!);
    return node;
  };
  return { attempts, broken, start };
}

test("one instance: a hedge with nowhere to go leaves the retry, and the call succeeds on attempt 2", () =>
  withTeardown(async (td) => {
    const { attempts, start } = instances(td, ["flaky-1"], 100);
    const caller = await start();
    const client = caller.client(Probe, { balance: { hedge: { delayMs: 30 } } });
    assert.equal(await client.who({ key: "flaky-a" }), "flaky-1");
    assert.deepEqual(attempts.get("flaky-a"), ["flaky-1", "flaky-1"]);
    // Without hedging the same call takes the same path.
    const plain = caller.client(Probe);
    assert.equal(await plain.who({ key: "flaky-b" }), "flaky-1");
    assert.deepEqual(attempts.get("flaky-b"), ["flaky-1", "flaky-1"]);
  }));

test("a spent budget keeps the hedge in, and the retry goes out once the budget has room again", () =>
  withTeardown(async (td) => {
    // Half a retry per call and no floor: a lone call cannot hedge; a second call makes room for one retry.
    const { attempts, start } = instances(td, ["s0", "s1"], 400);
    const caller = await start({ balance: { retryBudget: { ratio: 0.5, minPerSecond: 0, windowMs: 60_000 } } });
    const client = caller.client(Probe, { balance: { strategy: "round-robin", hedge: { delayMs: 30 } } });
    const slow = client.who({ key: "flaky-c" });
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The hedge was due 120 ms ago and did not go out: one attempt so far.
    assert.ok((attempts.get("flaky-c")?.length ?? 0) <= 1);
    await client.who({ key: "fast" });
    const answer = await slow;
    const tried = attempts.get("flaky-c")!;
    assert.equal(tried.length, 2, `attempts: ${tried.join(", ")}`);
    assert.notEqual(tried[0], tried[1], "the retry went to the other instance");
    assert.equal(answer, tried[1]);
    // With the budget spent for good, the call fails as an unhedged one would, and says why.
    const error = await client.who({ key: "flaky-d" }).then(
      () => assert.fail("expected UNAVAILABLE"),
      (e: unknown) => e as RpcError,
    );
    assert.equal(error.code, "UNAVAILABLE");
    assert.match(error.message, /retry budget spent/);
    assert.doesNotMatch(error.message, /hedged/);
    assert.equal(attempts.get("flaky-d")?.length, 1);
  }));

test("the other instances ejected: no hedge, and the retry reaches the one instance left", () =>
  withTeardown(async (td) => {
    const { attempts, broken, start } = instances(td, ["s0", "s1"], 100);
    const caller = await start({ balance: { outliers: { consecutiveFailures: 2, baseEjectionMs: 30_000, maxEjectionMs: 30_000 } } });
    broken.add("s1");
    // Calls without retries until s1 is ejected (bounded: 20 calls).
    const plain = caller.client(Probe, { balance: { strategy: "round-robin", retries: 0 } });
    const ejected = () => caller.stats().services.find((s) => s.service === Probe.name)?.instances.find((i) => i.node === "s1")?.state === "ejected";
    for (let i = 0; i < 20 && !ejected(); i++) await plain.who({ key: `eject-${i}` }).catch(() => undefined);
    assert.ok(ejected(), "s1 was ejected");
    const hedged = caller.client(Probe, { balance: { hedge: { delayMs: 30 } } });
    assert.equal(await hedged.who({ key: "flaky-e" }), "s0");
    assert.deepEqual(attempts.get("flaky-e"), ["s0", "s0"]);
  }));

test("a hedge that went out and failed too counts as one retry; the call goes on to a third instance", () =>
  withTeardown(async (td) => {
    const { attempts, start } = instances(td, ["s0", "s1", "s2"], 200);
    const caller = await start();
    const client = caller.client(Probe, { balance: { strategy: "round-robin", retries: 2, hedge: { delayMs: 30 } } });
    // The first copy fails after 200 ms; the hedge, sent at 30 ms to another instance, fails at once.
    const call = client.who({ key: "twice-f" });
    const answer = await call;
    const tried = attempts.get("twice-f")!;
    assert.equal(tried.length, 3, `attempts: ${tried.join(", ")}`);
    assert.equal(new Set(tried).size, 3, "each attempt on another instance");
    assert.equal(answer, tried[2]);
  }));

test("percentile hedging: no hedge before 16 calls were measured, then a slow copy is hedged after about the percentile", () =>
  withTeardown(async (td) => {
    // A key starting with "slow" waits 600 ms on s0 only; everything else answers at once.
    const delays = new Map<string, number>([["s0", 600]]);
    const servers: Node[] = [];
    const aborted: string[] = [];
    for (const name of ["s0", "s1"]) {
      const server = await td.node({ name, listen: "tcp://127.0.0.1:0" });
      server.serve(Probe, {
        who: async ({ key = "" }, ctx) => {
          if (key.startsWith("slow") && delays.has(name)) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, delays.get(name));
              ctx.signal.addEventListener("abort", () => {
                clearTimeout(timer);
                aborted.push(key);
                resolve();
              });
            });
          }
          return name;
        },
        apply: () => name,
      });
      servers.push(server);
    }
    const caller = await td.node({ name: "caller" });
    for (const server of servers) await caller.connect(server.addresses[0]!);
    const client = caller.client(Probe, { balance: { strategy: "round-robin", hedge: { percentile: 0.9 } } });
    // Too few measurements: no hedge, so the call that lands on s0 takes its 600 ms.
    const unhedged = Date.now();
    const first = await Promise.all([client.who({ key: "slow-a" }), client.who({ key: "slow-b" })]);
    assert.deepEqual(first.sort(), ["s0", "s1"], "without a percentile yet, each call ran where it landed");
    assert.ok(Date.now() - unhedged >= 550, "the call on s0 was not hedged");
    // Twenty fast calls: the 90th percentile is a few ms now.
    for (let i = 0; i < 20; i++) await client.who({ key: `fast-${i}` });
    const second = await Promise.all([client.who({ key: "slow-c" }), client.who({ key: "slow-d" })]);
    assert.deepEqual(second, ["s1", "s1"], "the copy on s0 lost to its hedge on s1");
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One or both slow calls landed on s0 (a fast call hedged on a hiccup moves the round-robin by one): every copy there lost and was cancelled.
    const cancelled = aborted.filter((key) => key === "slow-c" || key === "slow-d").length;
    assert.ok(cancelled >= 1 && cancelled <= 2, `the slow copies were cancelled (${cancelled})`);
  }));

test("a per-method policy overrides the client's for that method only", () =>
  withTeardown(async (td) => {
    const { attempts, start } = instances(td, ["s0", "s1"], 50);
    const caller = await start();
    // Client: 2 retries; `who`: none. `who` is idempotent, so only the policy stops the retry.
    const strict = caller.client(Probe, { balance: { retries: 2 }, methods: { who: { retries: 0 } } });
    const error = await strict.who({ key: "flaky-g" }).then(
      () => assert.fail("expected UNAVAILABLE"),
      (e: unknown) => e as RpcError,
    );
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(attempts.get("flaky-g")?.length, 1, "no retry under the method's policy");
    const lenient = caller.client(Probe, { balance: { retries: 2 } });
    assert.ok(["s0", "s1"].includes(await lenient.who({ key: "flaky-h" })));
    assert.equal(attempts.get("flaky-h")?.length, 2, "retried under the client's policy");
  }));
