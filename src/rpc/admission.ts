import { RpcError } from "./rpc-error.ts";

/**
 * Load shedding at the callee: how many calls a node runs at once, in all
 * and per served contract. A call past either limit is refused at once with
 * RESOURCE_EXHAUSTED, marked unprocessed, instead of waiting in a queue: the
 * calls already running keep their latency, memory stays bounded, and the
 * caller may retry the refused call on another instance.
 */

/** Ends one admitted call's hold on its slots. Calling it again does nothing. */
export type Release = () => void;

/** The counts of one concurrency limit. */
export interface AdmissionCounts {
  /** Calls running now (a stream counts until it ends). */
  readonly inFlight: number;
  /** The most calls that may run at once; `Infinity` when there is no limit. */
  readonly limit: number;
  /** Calls refused for concurrency since the node started. */
  readonly shed: number;
}

/** The counts of one served contract. */
export interface ServiceAdmissionCounts extends AdmissionCounts {
  /** The contract's name. */
  readonly service: string;
  /** The contract's version. */
  readonly version: string;
}

/**
 * A snapshot of a node's admission counts: the node-wide limit (every
 * connection and in-process caller together) and each served contract's.
 * A call counts in both its contract's entry and the node's; a refusal
 * counts in its contract's `shed` and the node's, whichever limit refused it.
 */
export interface AdmissionStats extends AdmissionCounts {
  /** Per contract served with `node.serve()`, keyed `name@version`. */
  readonly services: Readonly<Record<string, ServiceAdmissionCounts>>;
}

/**
 * The counter of one served contract. The registry keeps it on each of the
 * contract's endpoints, so that admitting a call costs no look-up.
 */
export class ServiceGate {
  /** The contract's name. */
  readonly service: string;
  /** The contract's version. */
  readonly version: string;
  /** The most calls of this contract that may run at once; `Infinity` for no limit. */
  readonly limit: number;
  /** Calls of this contract running now. */
  inFlight = 0;
  /** Calls of this contract refused since it began to be served. */
  shed = 0;

  /** Throws a TypeError (naming `what`) when `limit` is given but is not a positive integer or `Infinity`. */
  constructor(service: string, version: string, limit?: number, what = `serve(${service})`) {
    this.service = service;
    this.version = version;
    this.limit = checkConcurrency(limit, what);
  }
}

/**
 * Counts the calls a node runs, node-wide and per served contract, and
 * admits or refuses each new one. It sits on the path of every incoming call:
 * admitting costs two comparisons, two increments and one small closure;
 * refusing, one RpcError.
 */
export class Admission {
  /** The node-wide limit; `Infinity` for none. */
  readonly limit: number;
  readonly #nodeName: string;
  readonly #gates = new Set<ServiceGate>();
  #inFlight = 0;
  #shed = 0;

  /**
   * @param nodeName the node's name, for refusal messages.
   * @param limit the node-wide limit; undefined or `Infinity` for none.
   * @throws TypeError when `limit` is given but is not a positive integer or `Infinity`.
   */
  constructor(nodeName: string, limit?: number) {
    this.#nodeName = nodeName;
    this.limit = checkConcurrency(limit, "startNode");
  }

  /** Calls running now, node-wide. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls refused for concurrency since the node started. */
  get shed(): number {
    return this.#shed;
  }

  /** Lists `gate` in {@link stats} until the returned function is called. */
  track(gate: ServiceGate): () => void {
    this.#gates.add(gate);
    return () => {
      this.#gates.delete(gate);
    };
  }

  /**
   * Admits a call of `method` on `gate`'s contract: returns the function that
   * releases its slots once the call is over (idempotent), or, when the
   * contract's or the node's limit is reached, the RESOURCE_EXHAUSTED error
   * (unprocessed) to answer with. A refused call must not reach its handler.
   */
  tryEnter(gate: ServiceGate, method: string): Release | RpcError {
    if (gate.inFlight >= gate.limit) return this.#refuse(gate, method, false);
    if (this.#inFlight >= this.limit) return this.#refuse(gate, method, true);
    gate.inFlight++;
    this.#inFlight++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      gate.inFlight--;
      this.#inFlight--;
    };
  }

  /** A snapshot of the counts, node-wide and per tracked contract. */
  stats(): AdmissionStats {
    const services: Record<string, ServiceAdmissionCounts> = {};
    for (const gate of this.#gates) {
      services[`${gate.service}@${gate.version}`] = {
        service: gate.service,
        version: gate.version,
        inFlight: gate.inFlight,
        limit: gate.limit,
        shed: gate.shed,
      };
    }
    return { inFlight: this.#inFlight, limit: this.limit, shed: this.#shed, services };
  }

  #refuse(gate: ServiceGate, method: string, nodeWide: boolean): RpcError {
    gate.shed++;
    this.#shed++;
    const node = this.#nodeName;
    const limit = nodeWide ? this.limit : gate.limit;
    const who = nodeWide ? `node ${node}` : `${gate.service}@${gate.version} on node ${node}`;
    return new RpcError(
      "RESOURCE_EXHAUSTED",
      `${gate.service}.${method}: ${who} is running its limit of ${limit} calls at once; not processed — try another instance`,
      { service: gate.service, method, node, unprocessed: true, details: { limit, scope: nodeWide ? "node" : "service" } },
    );
  }
}

/** A concurrency limit: undefined or `Infinity` for none, else a positive integer; anything else is a TypeError. */
function checkConcurrency(limit: number | undefined, what: string): number {
  if (limit === undefined || limit === Infinity) return Infinity;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new TypeError(`${what}: concurrency must be a positive integer (or Infinity for no limit), got ${String(limit)}`);
  }
  return limit;
}
