/**
 * Who owns an entity key, as this node sees it: the instance of the type,
 * this node included, whose rendezvous score for the key is highest among
 * the instances of this cluster its balancer knows. Callers with the `owner`
 * strategy choose over the same set, so a call goes straight to the owner;
 * views that disagree for a moment only cost a hop or a retry, since the
 * key's lease, not the view, keeps two owners from running turns.
 */
import { outranks, rendezvousScore } from "../balance/rendezvous.ts";
import type { ServiceBalancer } from "../balance/service-balancer.ts";
import type { Target } from "../balance/target.ts";

/** The owner of keys of one entity type, from one node's view. */
export class Ownership {
  readonly #selfId: string;
  readonly #balancer: ServiceBalancer;

  constructor(selfId: string, balancer: ServiceBalancer) {
    this.#selfId = selfId;
    this.#balancer = balancer;
  }

  /** The owner of `key`: undefined when it is this node, else its instance. */
  ownerOf(key: string): Target | undefined {
    let best: Target | undefined;
    let bestId = this.#selfId;
    let bestScore = rendezvousScore(key, bestId);
    for (const target of this.#balancer.ownerCandidates()) {
      const score = rendezvousScore(key, target.id);
      if (outranks(score, target.id, bestScore, bestId)) {
        bestId = target.id;
        bestScore = score;
        best = target;
      }
    }
    return best;
  }

  /** The other instances of the type in this cluster, as this node knows them. */
  others(): number {
    return this.#balancer.ownerCandidates().length;
  }
}
