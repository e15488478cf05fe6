// The page's drawing code itself (the script the browser runs, evaluated in a
// sandbox) on topologies of known shape: no arrow passes through a node other
// than its two ends, on a ring of 8 with every pair calling and on a grid of
// 30 where callers reach far across it; no two link labels overlap (those that
// find no room are left to their arrow's tooltip).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createContext, Script } from "node:vm";
import { GRAPH_SCRIPT } from "../../src/dashboard/page/graph-script.ts";

const RADIUS = 20;

type Snapshot = Record<string, unknown>;

function draw(snapshot: Snapshot): string {
  const context = createContext({});
  new Script(`${GRAPH_SCRIPT}; this.drawGraph = drawGraph;`).runInContext(context);
  return (context as { drawGraph: (s: Snapshot) => string }).drawGraph(snapshot);
}

function node(id: string, cluster: string, edge = false) {
  return { id, name: id, cluster, state: "alive", addresses: [], labels: {}, services: edge ? [] : [`svc-${id}@1.0.0`], edge, inFlight: 0, shed: 0 };
}

function link(from: string, to: string) {
  return { from, to, callsPerSecond: 12.5, latencyMs: 1.2, p99Ms: 3.4, errorRate: 0, outstanding: 0, ejected: false, services: ["svc"] };
}

function snapshotOf(ids: string[], pairs: Array<[string, string]>, edges: string[] = []): Snapshot {
  return {
    at: 0,
    interval: 1000,
    clusters: [{ name: "c", nodes: ids.map((id) => node(id, "c", edges.includes(id))) }],
    gateways: [],
    links: pairs.map(([from, to]) => link(from, to)),
    endUsers: edges.map((edge) => ({ edge, clients: 3, windowMs: 60_000, callsPerSecond: 5, errorRate: 0, refusedPerSecond: 0 })),
    catalog: [],
    recentCalls: { service: "amoeba.traces", available: false, keeping: false, traces: [] },
  };
}

/** Node centres by id, and each arrow as its quadratic curve. */
function parse(svg: string) {
  const nodes = new Map<string, [number, number]>();
  for (const match of svg.matchAll(/<g class="node[^"]*" data-id="([^"]+)"[^>]*transform="translate\(([-\d.]+),([-\d.]+)\)"/g)) nodes.set(match[1]!, [Number(match[2]), Number(match[3])]);
  const links = [...svg.matchAll(/<path class="link[^"]*" data-from="([^"]+)" data-to="([^"]+)" d="M([-\d.]+) ([-\d.]+) Q([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"/g)].map((m) => ({
    from: m[1]!,
    to: m[2]!,
    points: m.slice(3, 9).map(Number) as [number, number, number, number, number, number],
  }));
  const labels = [...svg.matchAll(/<text class="link-label[^"]*" text-anchor="middle" x="([-\d.]+)" y="([-\d.]+)">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), text: m[3]! }));
  return { nodes, links, labels };
}

/** The nodes an arrow passes within a node's radius of, its own ends left out. */
function crossed(svg: string): string[] {
  const { nodes, links } = parse(svg);
  const out: string[] = [];
  for (const { from, to, points } of links) {
    const [sx, sy, cx, cy, ex, ey] = points;
    for (const [id, [x, y]] of nodes) {
      if (id === from || id === to) continue;
      for (let k = 0; k <= 40; k++) {
        const t = k / 40;
        const px = (1 - t) ** 2 * sx + 2 * t * (1 - t) * cx + t * t * ex;
        const py = (1 - t) ** 2 * sy + 2 * t * (1 - t) * cy + t * t * ey;
        if (Math.hypot(px - x, py - y) < RADIUS) {
          out.push(`${from} → ${to} through ${id}`);
          break;
        }
      }
    }
  }
  return out;
}

function overlappingLabels(svg: string): string[] {
  const { labels } = parse(svg);
  const boxes = labels.map((l) => ({ ...l, x1: l.x - l.text.length * 2.9, x2: l.x + l.text.length * 2.9, y1: l.y - 10, y2: l.y + 2 }));
  const out: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2) out.push(`${a.text}@${a.x},${a.y} / ${b.text}@${b.x},${b.y}`);
    }
  }
  return out;
}

test("a ring of 8 nodes, every one calling every other: no arrow through a node", () => {
  const ids = Array.from({ length: 8 }, (_, i) => `n${i}`);
  const pairs = ids.flatMap((from) => ids.filter((to) => to !== from).map((to): [string, string] => [from, to]));
  const svg = draw(snapshotOf(ids, pairs));
  assert.equal(parse(svg).links.length, 56);
  assert.deepEqual(crossed(svg), []);
  assert.deepEqual(overlappingLabels(svg), [], "no label over another");
  const shown = parse(svg).labels.length;
  assert.ok(shown >= 8 && shown < 56, `${shown} of 56 labels fit; the others are left to their arrows' tooltips`);
});

test("a grid of 30 nodes whose callers reach across it: every arrow passes clear of the nodes between", () => {
  const ids = Array.from({ length: 30 }, (_, i) => `n${String(i).padStart(2, "0")}`);
  // Each of the first row calls nodes along its row and down its column, across the others.
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < 6; i++) for (const j of [i + 2, i + 4, i + 12, i + 24]) if (j < 30) pairs.push([ids[i]!, ids[j]!]);
  const svg = draw(snapshotOf(ids, pairs));
  assert.ok(parse(svg).nodes.size === 30);
  assert.deepEqual(crossed(svg), []);
  assert.deepEqual(overlappingLabels(svg), []);
});

test("labels of a small cluster's links do not overlap", () => {
  const ids = ["edge", "front", "orders", "stock", "pricing"];
  const pairs: Array<[string, string]> = [["edge", "front"], ["front", "orders"], ["front", "stock"], ["orders", "stock"], ["orders", "pricing"], ["stock", "pricing"]];
  const svg = draw(snapshotOf(ids, pairs, ["edge"]));
  assert.equal(parse(svg).labels.length, 6);
  assert.deepEqual(overlappingLabels(svg), []);
  assert.deepEqual(crossed(svg), []);
});

test("a gateway's line names both clusters whole, and its tooltip says what it joins", () => {
  const snapshot = snapshotOf(["a1", "a2"], [["a1", "a2"]]);
  (snapshot.clusters as Array<{ name: string; nodes: unknown[] }>)[0]!.name = "core-europe-west";
  (snapshot.clusters as Array<{ name: string; nodes: unknown[] }>).push({ name: "region-b-north", nodes: [node("b1", "region-b-north")] });
  snapshot.gateways = [{ name: "gw-1", ids: ["g-a", "g-b"], clusters: ["core-europe-west", "region-b-north"], state: "alive" }];
  const svg = draw(snapshot);
  const gateway = /<g class="node alive gateway"[^>]*>([\s\S]*?)<\/g>/.exec(svg)?.[1] ?? "";
  assert.match(gateway, /<text class="detail"[^>]*>core-europe-west ↔ region-b-north<\/text>/);
  assert.match(gateway, /<title>gw-1 \(alive\)\ngateway between core-europe-west, region-b-north/);
  assert.deepEqual(crossed(svg), []);
});
