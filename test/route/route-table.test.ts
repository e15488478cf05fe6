// The route table worked out change by change gives what working it out from scratch gives, after any sequence of membership changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Member, MemberRecord } from "../../src/index.ts";
import { seededRandom } from "../../src/lookup/membership/index.ts";
import { isBuiltInService } from "../../src/rpc/reflection.ts";
import { AGGREGATE_VERSION, aggregatesIn } from "../../src/route-rules/aggregate.ts";
import { GATEWAY_LABEL, isGateway, parseRoutes } from "../../src/route-rules/route-label.ts";
import { better, type Export } from "../../src/route/export.ts";
import { RouteTable } from "../../src/route/route-table.ts";

/** The table from scratch, over both views whole: what every gateway computed on each pass before the table kept its state. */
function reference(into: string, views: ReadonlyMap<string, readonly Member[]>, own: ReadonlySet<string>, hopCost: number, maxHops: number): Map<string, Export[]> {
  const best = new Map<string, Map<string, Export>>();
  const offer = (candidate: Export): void => {
    const key = `${candidate.service}@${candidate.version}`;
    let byDestination = best.get(key);
    if (!byDestination) best.set(key, (byDestination = new Map()));
    const destination = candidate.path.at(-1)!;
    const known = byDestination.get(destination);
    if (!known || better(candidate, known)) byDestination.set(destination, candidate);
  };
  for (const [cluster, members] of views) {
    if (cluster === into) continue;
    for (const member of members) {
      const record = member.record;
      if ((member.state !== "alive" && member.state !== "suspect") || own.has(record.id)) continue;
      const gateway = isGateway(record.labels);
      const onward = (service: string, version: string): void => {
        for (const route of parseRoutes(record.labels, service, version)) {
          if (route.path.includes(into) || route.path.includes(cluster) || route.path.length + 1 > maxHops) continue;
          offer({ service, version, cost: route.cost + hopCost, path: [cluster, ...route.path], via: cluster });
        }
      };
      for (const [service, version] of record.services) {
        if (isBuiltInService(service)) continue;
        if (gateway) onward(service, version);
        else offer({ service, version, cost: hopCost, path: [cluster], via: cluster });
      }
      if (gateway) for (const pattern of aggregatesIn(record.labels)) onward(pattern, AGGREGATE_VERSION);
    }
  }
  const out = new Map<string, Export[]>();
  for (const [key, byDestination] of best) out.set(key, [...byDestination.values()].sort((a, b) => (better(a, b) ? -1 : 1)));
  return out;
}

/** Routes as plain data, keys sorted: what two tables must agree on. */
function plain(routes: ReadonlyMap<string, readonly Export[]>): Array<[string, Export[]]> {
  return [...routes].map(([key, list]) => [key, list.map((route) => ({ ...route, path: [...route.path] }))] as [string, Export[]]).sort(([a], [b]) => (a < b ? -1 : 1));
}

const CLUSTERS = ["lan-a", "core", "far", "x", "y"];
const SERVICES = ["calc", "geo", "shop.cart", "shop.pay", "amoeba.stats"];
const VERSIONS = ["1.0.0", "2.0.0"];
const STATES: Member["state"][] = ["alive", "alive", "alive", "suspect", "dead", "left"];

/** A random world of members in `core` and `far` (and one in `lan-a`, the cluster routes go into), changed step by step. */
function randomWorld(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const some = <T>(items: readonly T[]): T[] => items.filter(() => random() < 0.5);
  let count = 0;
  const routeText = (version: string): string => {
    const path = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(CLUSTERS));
    return `${version}:${Math.floor(random() * 6)}:${random() < 0.05 ? "bad/name" : path.join(">")}`;
  };
  const labelsOf = (before?: Readonly<Record<string, string>>): Record<string, string> => {
    const labels: Record<string, string> = { [GATEWAY_LABEL]: "core,far" };
    for (const name of [...SERVICES, "shop.*", "*"]) {
      // Often a label is kept as it was: only some of a gateway's routes change at once.
      if (before?.[`amoeba.route.${name}`] !== undefined && random() < 0.6) labels[`amoeba.route.${name}`] = before[`amoeba.route.${name}`]!;
      else if (random() < 0.6) labels[`amoeba.route.${name}`] = some([...VERSIONS, AGGREGATE_VERSION]).map(routeText).join(" ");
    }
    return labels;
  };
  const recordOf = (cluster: string, before?: Readonly<MemberRecord>): MemberRecord => {
    const gateway = before ? (random() < 0.9 ? isGateway(before.labels) : !isGateway(before.labels)) : random() < 0.5;
    const services = SERVICES.flatMap((service) => some(VERSIONS).map((version) => [service, version] as [string, string]));
    if (random() < 0.1 && services.length > 0) services.push(services[0]!);
    const id = before?.id ?? `m${count++}`;
    return { id, name: id, cluster, gossip: "udp://127.0.0.1:1", addresses: ["tcp://127.0.0.1:1"], labels: gateway ? labelsOf(before?.labels) : { zone: "a" }, services, load: 0 };
  };
  const views = new Map<string, Member[]>([
    ["lan-a", [{ record: recordOf("lan-a"), state: "alive", incarnation: 0, since: 0 }]],
    ["core", []],
    ["far", []],
  ]);
  const step = (): void => {
    const members = views.get(pick(["core", "far"]))!;
    const i = Math.floor(random() * members.length);
    const m = members[i];
    const roll = random();
    if (!m || roll < 0.25) members.push({ record: recordOf(m?.record.cluster ?? (members === views.get("core") ? "core" : "far")), state: "alive", incarnation: 0, since: 0 });
    else if (roll < 0.55) members[i] = { record: recordOf(m.record.cluster, m.record), state: m.state, incarnation: m.incarnation + 1, since: 0 };
    else if (roll < 0.75) members[i] = { record: m.record, state: pick(STATES), incarnation: m.incarnation, since: 0 };
    else if (roll < 0.85) members[i] = { ...m, load: 1 } as Member; // a new object, the same record: nothing to redo
    else members.splice(i, 1);
    if (random() < 0.05) members.reverse();
  };
  return { views, step, random };
}

test("after each of random membership changes, the table holds what a computation from scratch gives, keys in order", () => {
  let filled = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const { views, step } = randomWorld(seed);
    const own = new Set(["m3", "m7"]);
    const maxHops = 2 + (seed % 4);
    const table = new RouteTable("lan-a", own, 1 + (seed % 2), maxHops);
    let before = plain(table.routes);
    for (let i = 0; i < 150; i++) {
      step();
      const changed = table.update(views);
      const expected = plain(reference("lan-a", views, own, 1 + (seed % 2), maxHops));
      const routes = table.routes;
      assert.deepEqual(plain(routes), expected, `seed ${seed}, step ${i}`);
      const keys = [...routes.keys()];
      assert.deepEqual(keys, [...keys].sort(), "keys come out in order");
      // The keys said to have changed are exactly those whose routes differ.
      const was = new Map(before);
      const differ = [...new Set([...was.keys(), ...routes.keys()])].filter((key) => JSON.stringify(was.get(key)) !== JSON.stringify(expected.find(([k]) => k === key)?.[1]));
      assert.deepEqual([...changed].sort(), differ.sort(), `changed keys, seed ${seed}, step ${i}`);
      before = expected;
      filled += routes.size > 0 ? 1 : 0;
    }
    table.update(new Map());
    assert.equal(table.pathCount, 0, "every path given back once its routes are gone");
  }
  assert.ok(filled > 40 * 100, `most steps have routes to compare (${filled})`);
});

test("routes share their path arrays, and a table whose members all left holds none", () => {
  const gateway = (id: string): Member => ({
    record: { id, name: id, cluster: "core", gossip: "", addresses: [], labels: { [GATEWAY_LABEL]: "core,far", "amoeba.route.calc": "1.0.0:1:far", "amoeba.route.geo": "1.0.0:1:far 2.0.0:1:far" }, services: [["calc", "1.0.0"], ["geo", "1.0.0"], ["geo", "2.0.0"]], load: 0 },
    state: "alive",
    incarnation: 1,
    since: 0,
  });
  const table = new RouteTable("lan-a", new Set(), 1, 8);
  const views = new Map([["core", [gateway("gw-1"), gateway("gw-2")]]]);
  table.update(views);
  const paths = [...table.routes.values()].flat().map((route) => route.path);
  assert.equal(paths.length, 3);
  assert.ok(paths.every((path) => path === paths[0]), "one array for core>far");
  assert.ok(Object.isFrozen(paths[0]));
  assert.equal(table.pathCount, 1);
  assert.deepEqual([...table.update(new Map([["core", [gateway("gw-2")]]]))], [], "the other gateway of the link offers the same routes: nothing changed");
  assert.deepEqual([...table.update(new Map())].sort(), ["calc@1.0.0", "geo@1.0.0", "geo@2.0.0"]);
  assert.equal(table.routes.size, 0);
  assert.equal(table.pathCount, 0);
});
