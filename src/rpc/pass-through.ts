/**
 * Serving calls of services a node holds no contract for: a gateway that
 * advertises an aggregate (`shop.*`) forwards the calls of every service
 * under it, as they came. The endpoint of such a call is made from the call
 * itself — its service, method, kind and version range — and runs the
 * node's chain with no validation: the instance at the end validates.
 */
import { ServiceGate } from "./admission.ts";
import type { ServerNext } from "./context.ts";
import type { MethodDef, MethodKind } from "./contract.ts";
import type { Endpoint } from "./registry.ts";
import type { StandardSchemaV1 } from "./schema.ts";

/**
 * Accepts any value as is: a node that forwards a call lets it through, and
 * the instance at the end of the route validates against its own contract.
 */
export const anyValue: StandardSchemaV1<unknown, unknown> = Object.freeze({
  "~standard": Object.freeze({ version: 1 as const, vendor: "amoeba-route", validate: (value: unknown) => ({ value }) }),
});

/** What a call names: all a pass-through knows of it. */
export interface PassedCall {
  readonly service: string;
  readonly method: string;
  readonly kind: MethodKind;
  /** The version range the caller asked for; null for any. */
  readonly version: string | null;
}

/** Serves, without a contract, the calls of the services it covers. */
export interface PassThrough {
  /** Whether calls of `service` are its own (asked only when no contract of that service and range is served). */
  covers(service: string): boolean;
  /** The handler of one call's service, method, kind and range. */
  handler(call: PassedCall): ServerNext;
}

/** Endpoints kept made, at most: names under an aggregate are the callers' to choose, so the cache is bounded. */
const CACHED_ENDPOINTS = 1_024;

/** A node's pass-throughs, and the endpoints made for the calls they took, each chain composed once. */
export class PassThroughs {
  readonly #list: Array<{ passThrough: PassThrough; gate: ServiceGate }> = [];
  readonly #endpoints = new Map<string, Endpoint>();

  /** Adds a pass-through; returns the function that removes it. */
  add(passThrough: PassThrough): () => void {
    const entry = { passThrough, gate: new ServiceGate("amoeba.pass-through", "0.0.0") };
    this.#list.push(entry);
    return () => {
      const index = this.#list.indexOf(entry);
      if (index >= 0) this.#list.splice(index, 1);
      this.#endpoints.clear();
    };
  }

  /** The endpoint for a call a pass-through covers, or undefined; `chain` composes its run. */
  endpoint(call: PassedCall, chain: (handler: ServerNext) => ServerNext): Endpoint | undefined {
    if (this.#list.length === 0) return undefined;
    const entry = this.#list.find((each) => each.passThrough.covers(call.service));
    if (!entry) return undefined;
    const key = `${call.service}\u0000${call.method}\u0000${call.kind}\u0000${call.version ?? ""}`;
    const known = this.#endpoints.get(key);
    // Made by the pass-through that covers the call now (another may have covered it before).
    if (known && known.gate === entry.gate) return known;
    const handler = entry.passThrough.handler(call);
    const def: MethodDef = { kind: call.kind, input: anyValue, output: anyValue, idempotent: false, description: undefined };
    const endpoint: Endpoint = { service: call.service, version: call.version ?? "*", method: call.method, def, handler, gate: entry.gate, run: chain(handler), checkItem: null };
    if (this.#endpoints.size >= CACHED_ENDPOINTS) this.#endpoints.delete(this.#endpoints.keys().next().value!);
    this.#endpoints.set(key, endpoint);
    return endpoint;
  }
}
