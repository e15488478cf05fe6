/**
 * The merge of several registries' tables (src/lookup/registry/merged-view.ts):
 * what a reachable registry says now beats what was last known, "alive" beats
 * "gone" at equal standing, and a member no registry knows leaves as dead.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MergedView, type LinkEntry, type LinkState } from "../../../src/lookup/registry/merged-view.ts";
import type { Member, MemberState, MembershipEvent } from "../../../src/lookup/types.ts";

const record = (id: string, load = 0) => ({ id, name: id, cluster: "c", gossip: "", addresses: [`tcp://127.0.0.1:1/${id}`], labels: {}, services: [["s", "1.0.0"]] as Array<[string, string]>, load });
let seq = 0;
const entry = (id: string, state: MemberState, fresh = true, load = 0): LinkEntry => ({ member: { record: record(id, load), state, incarnation: 1, since: 0 } as Member, fresh, seq: ++seq });

function setup(count: number) {
  const links: Array<{ up: boolean; entries: Map<string, LinkEntry> }> = Array.from({ length: count }, () => ({ up: true, entries: new Map() }));
  const events: MembershipEvent[] = [];
  const view = new MergedView(() => links as LinkState[], (event) => events.push(event));
  const state = (id: string) => view.members().find((m) => m.record.id === id)?.state;
  return { links, events, view, state };
}

test("a registry going down keeps what it said; one up that says gone wins, and retires the stale word", () => {
  const { links, events, view, state } = setup(2);
  links[0]!.entries.set("a", entry("a", "alive"));
  view.reconcile();
  assert.equal(state("a"), "alive");
  assert.deepEqual(events.map((e) => e.type), ["join"]);
  // Registry 0 unreachable: its entries are last known only; nothing changes.
  links[0]!.up = false;
  links[0]!.entries.get("a")!.fresh = false;
  view.reconcile();
  assert.equal(state("a"), "alive");
  assert.equal(events.length, 1);
  // Registry 1, reachable, says it died: dead, and registry 0's stale "alive" is dropped.
  links[1]!.entries.set("a", entry("a", "dead"));
  view.reconcile("a");
  assert.equal(state("a"), "dead");
  assert.equal(links[0]!.entries.has("a"), false);
  // Registry 1 forgets it (reaped): nothing brings it back.
  links[1]!.entries.delete("a");
  view.reconcile();
  assert.equal(state("a"), undefined);
  assert.deepEqual(events.map((e) => e.type), ["join", "dead"]);
});

test("alive on any reachable registry is alive; the newest record of equal standing wins", () => {
  const { links, events, view, state } = setup(2);
  links[0]!.entries.set("b", entry("b", "dead"));
  links[1]!.entries.set("b", entry("b", "alive", true, 1));
  view.reconcile();
  assert.equal(state("b"), "alive");
  links[0]!.entries.set("b", entry("b", "alive", true, 7));
  view.reconcile("b");
  assert.equal(view.members()[0]!.record.load, 7);
  assert.deepEqual(events.map((e) => e.type), ["join", "update"]);
});

test("a member no registry knows any more leaves as dead, once", () => {
  const { links, events, view } = setup(1);
  links[0]!.entries.set("c", entry("c", "alive"));
  view.reconcile();
  links[0]!.entries.delete("c");
  view.reconcile();
  view.reconcile();
  assert.deepEqual(events.map((e) => `${e.type}:${e.member.state}`), ["join:alive", "dead:dead"]);
  assert.deepEqual(view.members(), []);
});
