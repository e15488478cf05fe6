import type { Member } from "../lookup/types.ts";
import { compareRoutes, better, type Export } from "./export.ts";
import { contributionOf, releaseRoutes, unchanged, type Contribution } from "./member-routes.ts";
import { PathPool } from "./path-pool.ts";

/**
 * The routes a gateway advertises into cluster `into`, kept up to date
 * from its views of its other clusters: for every service version live in
 * them, the cheapest path to each cluster that serves it, cheapest first.
 * A real instance in cluster d costs `hopCost` (path `[d]`); another
 * gateway's route in d costs `hopCost` more than it advertises (path
 * `[d, …its path]`). A route whose path already crosses `into` is left out
 * — it would lead back — as are paths longer than `maxHops`, members of the
 * gateway itself (`own`) and gateways whose labels say nothing readable of
 * a service. Other gateways' aggregates (`shop.*`, version `*`) are taken
 * on alike, under their pattern.
 *
 * Each {@link update} works only on what changed since the last: members
 * whose record or liveness changed, that joined or that left, and the
 * service versions their routes touch. The routes come out in the order of
 * their keys, whatever order the views list members in.
 */
export class RouteTable {
  readonly #into: string;
  readonly #own: ReadonlySet<string>;
  readonly #hopCost: number;
  readonly #maxHops: number;
  readonly #paths = new PathPool();
  /** Each member's contribution, by cluster, then by member id. */
  #members = new Map<string, Map<string, Contribution>>();
  /** Each key's candidates, by the member (cluster and id) that offers them. */
  readonly #candidates = new Map<string, Map<string, readonly Export[]>>();
  /** The routes by `service@version`; in key order when `#sorted`. */
  #routes = new Map<string, readonly Export[]>();
  #sorted = true;

  /** `own`: the ids of the gateway's own members, never taken as routes. */
  constructor(into: string, own: ReadonlySet<string>, hopCost: number, maxHops: number) {
    this.#into = into;
    this.#own = own;
    this.#hopCost = hopCost;
    this.#maxHops = maxHops;
  }

  /**
   * The routes by `service@version`, each list cheapest first, keys in
   * order. A list is never changed once given out: a change of its routes
   * replaces it, and a list that did not change stays the same object. The
   * map is the table's own, changed by the next {@link update}: copy it to
   * keep it.
   */
  get routes(): ReadonlyMap<string, readonly Export[]> {
    if (!this.#sorted) {
      this.#routes = new Map([...this.#routes].sort(([a], [b]) => (a < b ? -1 : 1)));
      this.#sorted = true;
    }
    return this.#routes;
  }

  /** How many distinct paths the table holds: one array each, shared by its routes. */
  get pathCount(): number {
    return this.#paths.size;
  }

  /**
   * Brings the table up to date with `views` (each cluster's members as a
   * gateway's member there sees them; a cluster absent has no members);
   * returns the keys whose routes changed.
   */
  update(views: ReadonlyMap<string, readonly Member[]>): Set<string> {
    const touched = new Set<string>();
    const next = new Map<string, Map<string, Contribution>>();
    for (const [cluster, members] of views) {
      if (cluster === this.#into) continue;
      const held = this.#members.get(cluster) ?? new Map<string, Contribution>();
      const kept = new Map<string, Contribution>();
      const derivation = { into: this.#into, cluster, own: this.#own, hopCost: this.#hopCost, maxHops: this.#maxHops, paths: this.#paths };
      for (const member of members) {
        const id = member.record.id;
        // A view lists a member once; a second entry under one id is not taken.
        if (kept.has(id)) continue;
        const before = held.get(id);
        held.delete(id);
        if (before && unchanged(before, member, this.#own)) {
          kept.set(id, before);
          continue;
        }
        const after = contributionOf(member, before, derivation);
        this.#replace(`${cluster}\n${id}`, before, after, touched);
        kept.set(id, after);
      }
      for (const [id, gone] of held) this.#replace(`${cluster}\n${id}`, gone, undefined, touched);
      next.set(cluster, kept);
    }
    for (const [cluster, held] of this.#members) {
      if (!next.has(cluster)) for (const [id, gone] of held) this.#replace(`${cluster}\n${id}`, gone, undefined, touched);
    }
    this.#members = next;
    const changed = new Set<string>();
    for (const key of touched) if (this.#recompute(key)) changed.add(key);
    return changed;
  }

  /** Puts `after`'s candidates in place of `before`'s, noting the keys whose candidates differ. */
  #replace(member: string, before: Contribution | undefined, after: Contribution | undefined, touched: Set<string>): void {
    for (const [key, routes] of before?.byKey ?? []) {
      if (after?.byKey.get(key) === routes) continue;
      releaseRoutes(routes, this.#paths);
      touched.add(key);
      const candidates = this.#candidates.get(key)!;
      candidates.delete(member);
      if (candidates.size === 0) this.#candidates.delete(key);
    }
    for (const [key, routes] of after?.byKey ?? []) {
      if (before?.byKey.get(key) === routes) continue;
      touched.add(key);
      let candidates = this.#candidates.get(key);
      if (!candidates) this.#candidates.set(key, (candidates = new Map()));
      candidates.set(member, routes);
    }
  }

  /** Works out the routes of `key` from its candidates; whether they changed. */
  #recompute(key: string): boolean {
    const byDestination = new Map<string, Export>();
    for (const routes of this.#candidates.get(key)?.values() ?? []) {
      for (const route of routes) {
        const destination = route.path.at(-1)!;
        const known = byDestination.get(destination);
        if (!known || better(route, known)) byDestination.set(destination, route);
      }
    }
    const before = this.#routes.get(key);
    if (byDestination.size === 0) return this.#routes.delete(key);
    const after = [...byDestination.values()].sort(compareRoutes);
    // Another member offering the same routes (the link's other gateway) changes nothing: the list stays, for those who compare lists.
    if (before && sameRoutes(before, after)) return false;
    if (!before) this.#sorted = false;
    this.#routes.set(key, after);
    return true;
  }
}

/** Whether two route lists of one key say the same: cost and path of each, in order. */
function sameRoutes(a: readonly Export[], b: readonly Export[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((route, i) => compareRoutes(route, b[i]!) === 0);
}
