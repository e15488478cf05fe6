import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcError, type Node } from "../../src/index.ts";
import { withTeardown, type Teardown } from "../rpc/support.ts";
import { z } from "zod";
import { contract, unary } from "../../src/index.ts";
import { rendezvousScore } from "../../src/balance/rendezvous.ts";
import { ENTITY_META, IDEMPOTENCY_META } from "../../src/rpc/keyed-meta.ts";
import { Probe, probeInstance, type Behaviour } from "./fixture.ts";

const Keyed = contract("balance.keyed", "1.0.0", { apply: unary({ input: z.object({}), output: z.string() }) });

/** Starts `count` servers of Probe on TCP and a caller connected to each by hand. */
async function cluster(td: Teardown, behaviours: Behaviour[], callerOptions: Parameters<Teardown["node"]>[0] = {}) {
  const instances = behaviours.map((behaviour, i) => probeInstance(`s${i}`, behaviour));
  const servers: Node[] = [];
  for (const [i, instance] of instances.entries()) {
    const server = await td.node({ name: `s${i}`, listen: "tcp://127.0.0.1:0" });
    server.serve(Probe, instance.handlers);
    servers.push(server);
  }
  const caller = await td.node({ name: "caller", ...callerOptions });
  for (const server of servers) await caller.connect(server.addresses[0]!);
  return { caller, servers, instances };
}

const healthy = (): Behaviour => ({ delayMs: 0, failShare: 0 });

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names) out[name] = (out[name] ?? 0) + 1;
  return out;
}

test("round-robin spreads calls evenly over every connected instance", () =>
  withTeardown(async (td) => {
    const { caller } = await cluster(td, [healthy(), healthy(), healthy()]);
    const client = caller.client(Probe, { balance: { strategy: "round-robin" } });
    const names: string[] = [];
    for (let i = 0; i < 90; i++) names.push(await client.who({}));
    assert.deepEqual(tally(names), { s0: 30, s1: 30, s2: 30 });
  }));

test("p2c sends little traffic to an instance far slower than the others", () =>
  withTeardown(async (td) => {
    // 100 ms: well above the one-off stalls of a busy test machine, which peak-EWMA also remembers for seconds.
    const { caller } = await cluster(td, [healthy(), healthy(), { delayMs: 100, failShare: 0 }]);
    const client = caller.client(Probe);
    const names: string[] = [];
    // Bounded: 20 waves of 8 concurrent calls.
    for (let wave = 0; wave < 20; wave++) {
      const batch = await Promise.all(Array.from({ length: 8 }, () => client.who({})));
      names.push(...batch);
    }
    const counts = tally(names);
    const slowShare = (counts.s2 ?? 0) / names.length;
    assert.ok(slowShare < 0.15, `the slow instance got ${(slowShare * 100).toFixed(1)} % of calls: ${JSON.stringify(counts)}`);
    const stats = caller.stats().services.find((s) => s.service === Probe.name)!;
    const slow = stats.instances.find((i) => i.node === "s2")!;
    const fast = stats.instances.find((i) => i.node === "s0")!;
    assert.ok(slow.ewmaMs > fast.ewmaMs, `EWMA of the slow one (${slow.ewmaMs}) above the fast one's (${fast.ewmaMs})`);
  }));

test("hash keeps each key on one instance and spreads keys over all", () =>
  withTeardown(async (td) => {
    const { caller } = await cluster(td, [healthy(), healthy(), healthy()]);
    const client = caller.client(Probe, { balance: { strategy: "hash", hashKey: (input) => (input as { key: string }).key } });
    const owner = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 60; k++) {
        const name = await client.who({ key: `user-${k}` });
        const before = owner.get(`user-${k}`);
        if (before) assert.equal(name, before, `user-${k} moved from ${before} to ${name}`);
        owner.set(`user-${k}`, name);
      }
    }
    const counts = tally([...owner.values()]);
    assert.equal(Object.keys(counts).length, 3, `keys reached every instance: ${JSON.stringify(counts)}`);
  }));

test("a non-idempotent call that reached a handler is not retried, an idempotent one is, and errors list the instances tried", () =>
  withTeardown(async (td) => {
    const { caller, instances } = await cluster(td, [{ delayMs: 0, failShare: 0, failWith: "UNAVAILABLE" }, { delayMs: 0, failShare: 0, failWith: "UNAVAILABLE" }]);
    const client = caller.client(Probe);
    // A non-idempotent method that reached a handler is not retried.
    const error = await client.apply({ key: "k1" }).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(error.tried?.length, 1, error.message);
    assert.match(error.tried![0]!.node, /^s[01]$/);
    assert.doesNotMatch(error.message, /tried/, "one attempt: the message stays as the handler wrote it");
    const executed = (instances[0]!.executions.get("k1") ?? 0) + (instances[1]!.executions.get("k1") ?? 0);
    assert.equal(executed, 1, "executed exactly once");
    assert.equal(error.unprocessed, false, "it may have run");
    // An idempotent one is retried on the other instance.
    const again = await client.who({ key: "k2" }).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e as RpcError,
    );
    // Two retries: the other instance, then (every instance tried) one of them again after a pause.
    assert.deepEqual([...new Set(again.tried?.map((t) => t.node))].sort(), ["s0", "s1"]);
    assert.equal(again.tried?.length, 3);
    assert.match(again.message, /\[tried s[01] \(UNAVAILABLE\), s[01] \(UNAVAILABLE\), s[01] \(UNAVAILABLE\)/);
    assert.equal((instances[0]!.executions.get("k2") ?? 0) + (instances[1]!.executions.get("k2") ?? 0), 3);
  }));

test("a call with an idempotency key is retried like an idempotent one, with the same key at every attempt", () =>
  withTeardown(async (td) => {
    const { caller, instances, servers } = await cluster(td, [{ delayMs: 0, failShare: 0, failWith: "UNAVAILABLE" }, { delayMs: 0, failShare: 0, failWith: "UNAVAILABLE" }]);
    const keys: string[] = [];
    servers.forEach((server) => server.serve(Keyed, { apply: (_input, ctx) => (keys.push(ctx.meta[IDEMPOTENCY_META] ?? "none"), Promise.reject(new RpcError("UNAVAILABLE", "down"))) }));
    const error = (await caller.client(Probe).apply({ key: "k3" }, { idempotencyKey: "logical-1" }).catch((e: unknown) => e)) as RpcError;
    assert.equal(error.tried?.length, 3, "retried although apply is not idempotent");
    assert.equal((instances[0]!.executions.get("k3") ?? 0) + (instances[1]!.executions.get("k3") ?? 0), 3);
    // idempotencyKeys: a key of its own for every logical call, the same for its retries.
    const keyed = caller.client(Keyed, { idempotencyKeys: true });
    await keyed.apply({}).catch(() => undefined);
    await keyed.apply({}).catch(() => undefined);
    assert.equal(keys.length, 6);
    assert.equal(new Set(keys.slice(0, 3)).size, 1, `one key for the attempts of one call: ${keys.join(", ")}`);
    assert.equal(new Set(keys).size, 2, "another key for the next call");
    await assert.rejects(keyed.apply({}, { idempotencyKey: "" }), (e: unknown) => e instanceof RpcError && e.code === "INVALID_ARGUMENT");
  }));

test("owner: a call goes to the instance that owns its entity key by rendezvous, else the next in the key's order", () =>
  withTeardown(async (td) => {
    const { caller, servers } = await cluster(td, [healthy(), healthy(), healthy()]);
    const client = caller.client(Probe, { balance: { strategy: "owner" } });
    const ranked = (key: string) => [...servers].sort((a, b) => rendezvousScore(key, b.id) - rendezvousScore(key, a.id)).map((server) => server.name);
    const owners = new Set<string>();
    for (let k = 0; k < 30; k++) {
      const key = `cart-${k}`;
      assert.equal(await client.who({}, { meta: { [ENTITY_META]: key } }), ranked(key)[0]);
      owners.add(ranked(key)[0]!);
    }
    assert.equal(owners.size, 3, "keys spread over every instance");
    // The owner fails (unprocessed): the retry goes to the second in the key's order.
    const key = "cart-0";
    const [first, second] = ranked(key);
    const down = servers.find((server) => server.name === first)!;
    await down.close();
    assert.equal(await client.who({}, { meta: { [ENTITY_META]: key } }), second);
  }));

test("with a single instance, a failed idempotent call is retried on it after a pause", () =>
  withTeardown(async (td) => {
    const { caller, instances } = await cluster(td, [{ delayMs: 0, failShare: 0.5 }]);
    const client = caller.client(Probe);
    // Every second execution fails with INTERNAL: the retry (the third execution) succeeds.
    assert.equal(await client.who({ key: "a" }), "s0");
    assert.equal(await client.who({ key: "b" }), "s0");
    assert.equal(instances[0]!.executions.get("b"), 2, "the failed execution, then its retry");
  }));

test("a draining instance's refusal is retried elsewhere even for a non-idempotent method, and runs once", () =>
  withTeardown(async (td) => {
    const { caller, servers, instances } = await cluster(td, [{ delayMs: 300, failShare: 0 }, healthy()]);
    const client = caller.client(Probe, { balance: { strategy: "round-robin" } });
    // s0 is busy with a slow call, so its close() drains rather than ends at once.
    const held = client.apply({ key: "held" });
    await waitFor(() => instances[0]!.served + instances[1]!.served === 1);
    const closing = servers[instances[0]!.served === 1 ? 0 : 1]!.close({ timeout: 2_000 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => client.apply({ key: `k${i}` })));
    assert.equal(results.length, 6);
    for (let i = 0; i < 6; i++) {
      const runs = (instances[0]!.executions.get(`k${i}`) ?? 0) + (instances[1]!.executions.get(`k${i}`) ?? 0);
      assert.equal(runs, 1, `k${i} ran ${runs} times`);
    }
    assert.ok(typeof (await held) === "string");
    await closing;
  }));

test("an instance failing every call is ejected, traffic moves away, and it comes back after it recovers", () =>
  withTeardown(async (td) => {
    const bad: Behaviour = { delayMs: 0, failShare: 0, failWith: "INTERNAL" };
    const { caller, instances } = await cluster(td, [healthy(), healthy(), bad], {
      balance: { outliers: { consecutiveFailures: 3, baseEjectionMs: 300, maxEjectionMs: 300 } },
    });
    const client = caller.client(Probe, { balance: { strategy: "round-robin", retries: 0 } });
    for (let i = 0; i < 30; i++) await client.apply({ key: `a${i}` }).catch(() => undefined);
    const stats = caller.stats().services.find((s) => s.service === Probe.name)!;
    const s2 = stats.instances.find((i) => i.node === "s2")!;
    assert.equal(s2.state, "ejected", JSON.stringify(s2));
    assert.ok(s2.errorRate > 0.5, `error rate ${s2.errorRate}`);
    const servedWhileEjected = instances[2]!.served;
    for (let i = 0; i < 20; i++) await client.apply({ key: `b${i}` });
    assert.equal(instances[2]!.served, servedWhileEjected, "no call reached the ejected instance");
    // It recovers; after its ejection runs out, a trial call readmits it.
    delete bad.failWith;
    await new Promise((resolve) => setTimeout(resolve, 350));
    for (let i = 0; i < 30; i++) await client.apply({ key: `c${i}` });
    assert.ok(instances[2]!.served > servedWhileEjected + 5, `served ${instances[2]!.served - servedWhileEjected} after recovery`);
  }));

test("retries of an instance answering UNAVAILABLE to everything stay within the retry budget", () =>
  withTeardown(async (td) => {
    const down = (): Behaviour => ({ delayMs: 0, failShare: 0, failWith: "UNAVAILABLE" });
    const { caller, instances } = await cluster(td, [down(), down(), down()], {
      balance: { retryBudget: { ratio: 0.2, minPerSecond: 1 }, outliers: { maxEjectedShare: 0 } },
    });
    const client = caller.client(Probe, { balance: { retries: 2, backoff: { baseMs: 0, maxMs: 1 } } });
    const calls = 200;
    for (let i = 0; i < calls; i++) await client.who({ key: `k${i}` }).catch(() => undefined);
    const executions = instances.reduce((sum, instance) => sum + instance.served, 0);
    const retries = executions - calls;
    // 20 % of calls plus a floor of 1/s over a run of a few seconds at most.
    assert.ok(retries <= calls * 0.2 + 12, `${retries} retries for ${calls} calls`);
    assert.ok(retries >= 10, `the budget allowed some retries (${retries})`);
  }));

test("hedging answers from the fast instance and cancels the slow copy", () =>
  withTeardown(async (td) => {
    const { caller, instances } = await cluster(td, [{ delayMs: 2_000, failShare: 0 }, healthy()]);
    const client = caller.client(Probe, { balance: { strategy: "round-robin", hedge: { delayMs: 30 } } });
    // Round-robin sends the first call to s0 (the slow one) or s1; two calls cover both orders.
    const started = Date.now();
    const answers = await Promise.all([client.who({ key: "h1" }), client.who({ key: "h2" })]);
    assert.deepEqual(answers, ["s1", "s1"]);
    assert.ok(Date.now() - started < 1_500, "answered before the slow copy would have");
    await waitFor(() => instances[0]!.signals.length > 0 && instances[0]!.signals.every((signal) => signal.aborted));
  }));

test("maxPerInstance passes over busy instances, and refuses at once when all are busy", () =>
  withTeardown(async (td) => {
    const { caller } = await cluster(td, [{ delayMs: 200, failShare: 0 }, { delayMs: 200, failShare: 0 }]);
    const client = caller.client(Probe, { balance: { maxPerInstance: 1, retries: 0 } });
    const first = [client.who({}), client.who({})];
    const third = await client.who({}).then(
      () => assert.fail("expected RESOURCE_EXHAUSTED"),
      (e: unknown) => e as RpcError,
    );
    assert.equal(third.code, "RESOURCE_EXHAUSTED");
    assert.equal(third.unprocessed, true);
    assert.deepEqual((await Promise.all(first)).sort(), ["s0", "s1"]);
  }));

test("bad balancing options are refused when the client is made", () =>
  withTeardown(async (td) => {
    const caller = await td.node({ name: "caller" });
    assert.throws(() => caller.client(Probe, { balance: { strategy: "fastest" as never } }), TypeError);
    assert.throws(() => caller.client(Probe, { balance: { strategy: "hash" } }), /hashKey/);
    assert.throws(() => caller.client(Probe, { balance: { retries: -1 } }), TypeError);
    assert.throws(() => caller.client(Probe, { balance: { hedge: { percentile: 2 } } }), TypeError);
    assert.throws(() => caller.client(Probe, { balance: { maxPerInstance: 0 } }), TypeError);
    assert.throws(() => caller.client(Probe, { methods: { nope: {} } }), /does not have/);
  }));

test("a hash key function that throws fails that call only, as INVALID_ARGUMENT", () =>
  withTeardown(async (td) => {
    const { caller } = await cluster(td, [healthy()]);
    const client = caller.client(Probe, {
      balance: {
        strategy: "hash",
        hashKey: (input) => {
          const key = (input as { key?: string }).key;
          if (key === undefined) throw new Error("no key");
          return key;
        },
      },
    });
    await assert.rejects(client.who({}), (e: RpcError) => e.code === "INVALID_ARGUMENT" && e.unprocessed && /hashKey/.test(e.message));
    assert.equal(await client.who({ key: "x" }), "s0");
  }));

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
