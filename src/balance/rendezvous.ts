/**
 * Rendezvous (highest-random-weight) hashing: the owner of a key among a set
 * of ids is the id whose score for the key is highest. Every node that sees
 * the same set picks the same owner with no table to agree on, and when an id
 * comes or goes only the keys it owns (or comes to own) move: about 1/N.
 */
import { hash32 } from "./hash.ts";

/** The score of `id` for `key`: the same in every process. */
export function rendezvousScore(key: string, id: string): number {
  return hash32(key, hash32(id));
}

/** Whether `a` outranks `b` for a key (scores tie in 1 of 2³² cases: the smaller id wins). */
export function outranks(scoreA: number, idA: string, scoreB: number, idB: string): boolean {
  return scoreA > scoreB || (scoreA === scoreB && idA < idB);
}
