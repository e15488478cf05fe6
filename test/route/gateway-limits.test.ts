// A gateway that meets the look-up's limits stays up: a far service whose name is too long for a route
// label is refused (logged once) and routes to a service too many to fit one label are cut to the
// cheapest (logged), while everything that fits is forwarded, then and later. Real nodes over TCP and
// UDP in this process: a throw out of a timer or handler would fail the run as an uncaught exception.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { z } from "zod";
import { contract, unary } from "../../src/index.ts";
import { CATALOG_LIMITS } from "../../src/lookup/catalog-sync/index.ts";
import { ROUTE_LABEL_PREFIX } from "../../src/route-rules/route-label.ts";
import { recordingLogger, sleep, waitFor, withTeardown } from "../rpc/support.ts";
import { clusterNames, gateway, lookup, Regional, regional, useRendezvous } from "./fixture.ts";

let cleanRendezvous: () => Promise<void>;
before(async () => {
  cleanRendezvous = await useRendezvous();
});
after(() => cleanRendezvous());

const ping = { ping: unary({ input: z.object({}), output: z.string() }) };
/** The longest name a node can serve at 1.0.0 (its catalog key `s:<name>@1.0.0` takes 1,024 characters): 7 past what a route label's key takes. */
const LONG = contract(`route.${"x".repeat(CATALOG_LIMITS.key - 3 - "1.0.0".length - "route.".length)}`, "1.0.0", ping);
/** 1,000 versions of one service (long numbers: ≈ 75 characters a route) whose routes take ≈ 73 KiB together, past the 64 KiB of one route label. */
const BIG = 10 ** 14;
const WIDE = Array.from({ length: 1_000 }, (_, i) => contract("route.wide", `${BIG + i}.${BIG}.${BIG}`, ping));

test("a gateway refuses a name too long for a route and cuts routes past one label, logs both, and goes on forwarding what fits", { timeout: 60_000 }, () =>
  withTeardown(async (td) => {
    assert.ok(ROUTE_LABEL_PREFIX.length + LONG.name.length + 2 > CATALOG_LIMITS.key, "the name is past a route label's key");
    const names = clusterNames();
    const far = await td.node({ name: "regional-1", cluster: names.regionB, listen: "tcp://127.0.0.1:0", lookup });
    far.serve(Regional, regional("regional-1"));
    far.serve(LONG, { ping: () => "long" });
    for (const wide of WIDE) far.serve(wide, { ping: () => wide.version });
    const core = await td.node({ name: "core-1", cluster: names.core, lookup });
    const logger = recordingLogger();
    const warnedLog = (text: string) => logger.records.filter((r) => r.level === "warn" && r.msg?.includes(text));
    const gw = await gateway(td, { name: "gw-limits", logger, join: { [names.core]: { seeds: [core.gossipAddress!] }, [names.regionB]: { seeds: [far.gossipAddress!] } } });

    const wideRoutes = (): number => gw.routes(names.core).filter((route) => route.service === "route.wide").length;
    await waitFor(() => core.lookup(Regional).length === 1 && wideRoutes() === WIDE.length, 30_000, "the gateway forwards Regional and every version of route.wide");
    await waitFor(() => warnedLog("routes to route.wide do not fit in one label").length > 0, 10_000, "the cut is logged");
    assert.equal((await core.client(Regional).where({}, { timeout: 10_000 })).node, "regional-1");
    assert.equal(core.lookup(LONG.name).length, 0, "no route to the service whose name is too long");
    assert.ok(!gw.routes(names.core).some((route) => route.service === LONG.name));

    // The route label to route.wide is cut at a whole route, within 64 KiB; the versions it lists are reached.
    const label = core.members().find((m) => m.record.name === "gw-limits")?.record.labels[`${ROUTE_LABEL_PREFIX}route.wide`] ?? "";
    assert.ok(label.length > 0 && label.length <= CATALOG_LIMITS.labelValue, `the label takes ${label.length} characters`);
    const listed = label.split(" ").map((entry) => entry.split(":")[0]!);
    assert.ok(listed.length >= 800 && listed.length < WIDE.length, `${listed.length} of ${WIDE.length} routes fit one label`);
    const first = WIDE.find((wide) => wide.version === listed[0])!;
    assert.equal(await core.client(first, { version: first.version }).ping({}, { timeout: 10_000 }), first.version);

    // Routes are worked out again every 2 s: the gateway stays up, the refusal is logged once.
    await sleep(4_500);
    const warned = warnedLog;
    assert.equal(warned("too long for a route").length, 1, "the refusal is logged once, not on every pass");
    assert.equal((warned("too long for a route")[0]!.obj as { length?: number }).length, LONG.name.length);
    assert.ok(warned("routes to route.wide do not fit in one label").length >= 1, "the cut is logged");
    assert.equal(warned("working out the routes failed").length, 0, "no pass of the routes failed");

    // It still forwards: a service far serves now is advertised and reached.
    const Later = contract("route.later", "1.0.0", ping);
    far.serve(Later, { ping: () => "later" });
    await waitFor(() => core.lookup(Later).length === 1, 15_000, "core sees the route to the later service");
    assert.equal(await core.client(Later).ping({}, { timeout: 10_000 }), "later");
    assert.equal((await core.client(Regional).where({}, { timeout: 10_000 })).node, "regional-1");
    assert.ok(core.members().some((m) => m.record.name === "gw-limits" && m.state === "alive"), "core sees the gateway alive");
  }));
