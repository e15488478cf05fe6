// Calls cross two gateways: lan-a → gw-ac → core → gw-cb → region-b, with real nodes over TCP in this process.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { z } from "zod";
import { contract, GATEWAY_LABEL, HOPS_META, unary, VIA_META, type ClientInterceptor, type Node, type ServerInterceptor } from "../../src/index.ts";
import { aborted, rejection, waitFor, within, withTeardown, type Teardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, Regional, regional, useRendezvous, type RegionalSeen } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

/** lan-a ← gw-ac → core ← gw-cb → region-b, with Regional served only in region-b. */
async function chain(td: Teardown, seen?: RegionalSeen) {
  const names = clusterNames();
  const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
  far.serve(Regional, regional("regional-1", seen));
  const core = await td.node({ name: "core-1", cluster: names.core, lookup });
  const caller = await td.node({ name: "caller", cluster: names.lanA, lookup });
  const gwCb = await gateway(td, { name: "gw-cb", join: { [names.core]: { seeds: [core.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } } });
  const gwAc = await gateway(td, { name: "gw-ac", join: { [names.lanA]: { seeds: [caller.gossipAddress!] }, [names.core]: { seeds: [core.gossipAddress!] } } });
  await waitFor(() => caller.lookup(Regional).length === 1, 15_000, "lan-a learns the route to region-b's service");
  return { names, far, core, caller, gwAc, gwCb };
}

/** core ← gw-cb → region-b, region-b's node serving what `serve` gives it before the gateway starts. */
async function pair(td: Teardown, serve: (far: Node) => void) {
  const names = clusterNames();
  const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
  serve(far);
  const core = await td.node({ name: "core-1", cluster: names.core, lookup });
  const gw = await gateway(td, { name: "gw-cb", join: { [names.core]: { seeds: [core.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } } });
  return { names, far, core, gw };
}

test("a call from lan-a reaches a service only region-b has, through two gateways, with metadata, hops and a shrinking deadline", () =>
  withTeardown(async (td) => {
    const { names, caller, gwAc, gwCb } = await chain(td);
    const [instance] = caller.lookup(Regional);
    assert.equal(instance!.node.name, "gw-ac");
    assert.equal(instance!.labels[GATEWAY_LABEL], `${names.lanA},${names.core}`);
    assert.deepEqual(
      gwAc.routes(names.lanA).map((r) => [r.service, r.cost, r.path]),
      [["route.regional", 2, [names.core, names.regionB]]],
    );
    assert.deepEqual(gwCb.routes(names.core).map((r) => [r.service, r.cost, r.path]), [["route.regional", 1, [names.regionB]]]);

    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const seen = await caller.client(Regional).where({}, { timeout: 5_000, meta: { traceparent, tenant: "t-1" } });
    assert.equal(seen.node, "regional-1");
    assert.equal(seen.meta.traceparent, traceparent);
    assert.equal(seen.meta.tenant, "t-1");
    assert.equal(seen.meta[HOPS_META], "2");
    assert.equal(seen.meta[VIA_META], "gw-ac,gw-cb");
    // Each hop passes on what remains: the far handler has no more than the caller gave (whole ms, rounded up at each of 3 sends).
    assert.ok(seen.remaining !== null && seen.remaining > 0 && seen.remaining <= 5_000 + 3, `the far handler had ${seen.remaining} ms of the caller's 5000`);
    assert.equal(caller.stats().services[0]!.instances[0]!.locality, "gateway");
  }));

test("each hop passes on only what remains of the deadline: time spent at a gateway is taken off, not given back", () =>
  withTeardown(async (td) => {
    const names = clusterNames();
    const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    far.serve(Regional, regional("regional-1"));
    const caller = await td.node({ name: "caller", cluster: names.core, lookup });
    // The gateway's member in core holds each call to Regional 400 ms before forwarding it into region-b.
    const hold: ServerInterceptor = (next) => (input, ctx) =>
      ctx.service === Regional.name && ctx.kind === "unary" ? new Promise((resolve) => setTimeout(resolve, 400)).then(() => next(input, ctx)) : next(input, ctx);
    // Its member in region-b sees, as a client interceptor, each call it forwards there.
    const sent: string[] = [];
    const forwarded: ClientInterceptor = (next) => (request) => {
      if (request.service === Regional.name) sent.push(`${request.method} ${request.deadline === undefined ? "with no deadline" : "with a deadline"}`);
      return next(request);
    };
    await gateway(td, {
      name: "gw-slow",
      join: {
        [names.core]: { seeds: [caller.gossipAddress!], interceptors: { server: [hold] } },
        [names.regionB]: { seeds: [far.gossipAddress!], interceptors: { client: [forwarded] } },
      },
    });
    await waitFor(() => caller.lookup(Regional).length === 1, 15_000, "core learns the route to region-b's service");
    const started = Date.now();
    const seen = await caller.client(Regional).where({}, { timeout: 5_000 });
    const took = Date.now() - started;
    assert.equal(seen.node, "regional-1");
    assert.ok(took >= 400, `the call took ${took} ms, the hold included`);
    // A hop that re-sent the caller's whole timeout would leave ~5000 ms here.
    assert.ok(seen.remaining !== null && seen.remaining <= 5_000 - 400 + 2, `the far handler had ${seen.remaining} ms of the caller's 5000, after a 400 ms hold`);
    assert.ok(seen.remaining >= 5_000 - took - 50, `the far handler had ${seen.remaining} ms; the call took ${took} ms`);
    assert.deepEqual(sent, ["where with a deadline"]);
  }));

test("streams of every kind cross the gateways", () =>
  withTeardown(async (td) => {
    const { caller } = await chain(td);
    const client = caller.client(Regional);
    const counted: number[] = [];
    for await (const n of client.count({ to: 5 }, { timeout: 10_000 })) counted.push(n);
    assert.deepEqual(counted, [1, 2, 3, 4, 5]);
    assert.equal(await client.sum([1, 2, 3, 4], { timeout: 10_000 }), 10);
    const echoed: string[] = [];
    for await (const word of client.echo(["a", "b", "c"], { timeout: 10_000 })) echoed.push(word);
    assert.deepEqual(echoed, ["A", "B", "C"]);
  }));

test("cancelling a call, or its deadline passing, aborts the handler two gateways away", () =>
  withTeardown(async (td) => {
    const seen: RegionalSeen = { holds: [], aborts: [] };
    const { caller } = await chain(td, seen);
    const client = caller.client(Regional);

    const abort = new AbortController();
    const cancelled = rejection(client.hold({ ms: 20_000 }, { signal: abort.signal, timeout: 30_000 }));
    await waitFor(() => seen.holds.length === 1, 10_000, "the far handler starts");
    abort.abort();
    assert.equal((await within(cancelled, 10_000, "the cancelled call ends")).code, "CANCELLED");
    await within(aborted(seen.holds[0]!.signal), 10_000, "the far handler's signal fires on cancel");

    const expired = await within(rejection(client.hold({ ms: 20_000 }, { timeout: 700 })), 10_000, "the call ends at its deadline");
    assert.equal(expired.code, "DEADLINE_EXCEEDED");
    await waitFor(() => seen.holds.length === 2, 10_000, "the second call reached the far handler");
    await within(aborted(seen.holds[1]!.signal), 10_000, "the far handler's signal fires at the deadline");
  }));

test("an error says on which node and in which cluster it arose, and through which gateways it came", () =>
  withTeardown(async (td) => {
    const { names, caller } = await chain(td);
    const error = await rejection(caller.client(Regional).fail({}, { timeout: 10_000 }));
    assert.equal(error.code, "FAILED_PRECONDITION");
    assert.equal(error.node, "regional-1");
    assert.match(error.message, /out of order/);
    assert.ok(error.message.endsWith(`(in cluster ${names.regionB}, through gateway gw-cb, gw-ac)`), error.message);
  }));

test("routes disappear when the far instance leaves, and come back with a new one", () =>
  withTeardown(async (td) => {
    const { names, far, caller, gwAc } = await chain(td);
    await far.close({ timeout: 1_000 });
    await waitFor(() => caller.lookup(Regional).length === 0, 15_000, "lan-a drops the route once region-b has no instance");
    assert.deepEqual(gwAc.routes(names.lanA), []);
    const error = await rejection(caller.client(Regional).where({}, { timeout: 2_000 }));
    assert.equal(error.code, "UNAVAILABLE");

    const again: Node = await td.node({ name: "regional-2", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    again.serve(Regional, regional("regional-2"));
    await waitFor(() => caller.lookup(Regional).length === 1, 15_000, "the route comes back");
    assert.equal((await caller.client(Regional).where({}, { timeout: 10_000 })).node, "regional-2");
  }));

test("a service with a long name is forwarded too: routes travel in the catalog, not in gossip labels", () =>
  withTeardown(async (td) => {
    const longName = `route.${"x".repeat(120)}`;
    const Long = contract(longName, "1.0.0", { ping: unary({ input: z.object({}), output: z.string() }) });
    const { names, core, gw } = await pair(td, (far) => {
      far.serve(Long, { ping: () => "pong" });
      far.serve(Regional, regional("regional-1"));
    });
    await waitFor(() => core.lookup(Regional).length === 1 && core.lookup(Long).length === 1, 15_000, "core sees both routes");
    assert.deepEqual(gw.routes(names.core).map((r) => r.service).sort(), [Regional.name, longName].sort());
    assert.equal(await core.client(Long).ping({}, { timeout: 10_000 }), "pong");
    assert.equal((await core.client(Regional).where({}, { timeout: 10_000 })).node, "regional-1");
  }));

test("a service whose version has a pre-release tag is forwarded like any other", () =>
  withTeardown(async (td) => {
    const Beta = contract("route.beta", "2.1.0-beta.3", { ping: unary({ input: z.object({}), output: z.string() }) });
    const { core } = await pair(td, (far) => far.serve(Beta, { ping: () => "beta" }));
    await waitFor(() => core.lookup(Beta).length === 1, 15_000, "core sees the route to route.beta@2.1.0-beta.3");
    assert.equal(await core.client(Beta).ping({}, { timeout: 10_000 }), "beta");
  }));

test("a caller that has not yet seen a route go is told UNAVAILABLE, unprocessed, by the gateway that withdrew it, not NOT_FOUND", () =>
  withTeardown(async (td) => {
    const { names, far, core, gw } = await pair(td, (far) => far.serve(Regional, regional("regional-1")));
    await waitFor(() => core.lookup(Regional).length === 1, 15_000, "core sees the route to region-b's service");
    // A caller whose view still names the gateway: it calls the gateway's member straight.
    const stale = await td.connect(core.lookup(Regional)[0]!.addresses[0]!);
    assert.equal((await stale.client(Regional).where({}, { timeout: 10_000 })).node, "regional-1");
    await far.close({ timeout: 1_000 });
    await waitFor(() => gw.routes(names.core).length === 0, 15_000, "the gateway withdraws the route");
    const error = await rejection(stale.client(Regional).where({}, { timeout: 2_000 }));
    assert.equal(error.code, "UNAVAILABLE", error.message);
    assert.equal(error.unprocessed, true);
    assert.match(error.message, /gateway gw-cb no longer has a route to route\.regional/);
    // A name the gateway never routed is still NOT_FOUND.
    const never = contract("route.never", "1.0.0", { ping: unary({ input: z.object({}), output: z.string() }) });
    assert.equal((await rejection(stale.client(never).ping({}, { timeout: 2_000 }))).code, "NOT_FOUND");
  }));
