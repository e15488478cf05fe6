import { ServiceGate } from "./admission.ts";
import type { Contract, MethodDef } from "./contract.ts";
import type { Handlers, ServerNext } from "./context.ts";
import { RpcError } from "./rpc-error.ts";
import { compareVersions, parseVersion, satisfies, type Version } from "./version.ts";

/** One method ready to run: its definition and its handler. */
export interface Endpoint {
  readonly service: string;
  readonly version: string;
  readonly method: string;
  readonly def: MethodDef;
  readonly handler: (...args: any[]) => unknown;
  /** The concurrency counter of the contract it belongs to. */
  readonly gate: ServiceGate;
  /** What a call runs: the server's chain of interceptors and stages around the handler. */
  readonly run: ServerNext;
  /** Checks one input stream item as it arrives (the validation stage's), or null: returns the item to pass on, or throws. */
  readonly checkItem: ((item: unknown) => unknown) | null;
}

/** Builds the chain an endpoint's calls run, from the endpoint and its bare handler. */
export type ChainBuilder = (endpoint: Omit<Endpoint, "run" | "checkItem">) => Pick<Endpoint, "run" | "checkItem">;

/** A contract served by this node. */
interface Served {
  readonly contract: Contract;
  readonly version: Version;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
}

/** The services a node serves, found by name, version range and method. */
export class ServiceRegistry {
  readonly #byName = new Map<string, Served[]>();

  /**
   * Adds a contract with its handlers; its calls are counted in `gate` (by
   * default one of its own, without a limit) and run what `chain` builds
   * around each handler (by default the bare handler). Throws a TypeError when a
   * handler is missing or extra.
   */
  add<C extends Contract>(
    contract: C,
    handlers: Handlers<C>,
    gate = new ServiceGate(contract.name, contract.version),
    chain: ChainBuilder = (endpoint) => ({ run: endpoint.handler, checkItem: null }),
  ): () => void {
    const endpoints = new Map<string, Endpoint>();
    for (const [method, def] of Object.entries(contract.methods)) {
      const handler = Object.hasOwn(handlers, method) ? (handlers as Record<string, unknown>)[method] : undefined;
      if (typeof handler !== "function") {
        throw new TypeError(`serve(${contract.name}): no handler for method "${method}"`);
      }
      const bare = { service: contract.name, version: contract.version, method, def, handler: handler as Endpoint["handler"], gate };
      endpoints.set(method, { ...bare, ...chain(bare) });
    }
    for (const method of Object.keys(handlers)) {
      if (!endpoints.has(method)) throw new TypeError(`serve(${contract.name}): "${method}" is not a method of the contract`);
    }
    const list = this.#byName.get(contract.name) ?? [];
    if (list.some((served) => served.contract.version === contract.version)) {
      throw new TypeError(`${contract.name}@${contract.version} is already served by this node`);
    }
    const served: Served = { contract, version: parseVersion(contract.version)!, endpoints };
    list.push(served);
    this.#byName.set(contract.name, list);
    return () => {
      const current = this.#byName.get(contract.name);
      const index = current?.indexOf(served) ?? -1;
      if (current && index >= 0) {
        current.splice(index, 1);
        if (current.length === 0) this.#byName.delete(contract.name);
      }
    };
  }

  /** Whether any version of `service` is served here: one map probe. */
  servesName(service: string): boolean {
    return this.#byName.has(service);
  }

  /** Whether some version of `service` matching `range` is served here. */
  has(service: string, range: string | null): boolean {
    return this.#match(service, range) !== undefined;
  }

  /** The endpoint for a call, or undefined: the fast path, which builds no error. */
  lookup(service: string, method: string, range: string | null): Endpoint | undefined {
    return this.#match(service, range)?.endpoints.get(method);
  }

  /** The endpoint for a call, or the RpcError that says why there is none. */
  find(service: string, method: string, range: string | null, node: string): Endpoint | RpcError {
    const served = this.#match(service, range);
    if (!served) {
      const versions = this.#byName.get(service)?.map((s) => s.contract.version);
      const message = versions
        ? `no ${service}@${range} on node ${node}; it serves ${versions.map((v) => `${service}@${v}`).join(", ")}`
        : `service "${service}" is not served by node ${node}; it serves: ${this.describe() || "nothing"}`;
      return new RpcError("NOT_FOUND", message, { service, method, node, unprocessed: true });
    }
    const endpoint = served.endpoints.get(method);
    if (!endpoint) {
      const known = [...served.endpoints.keys()].join(", ");
      return new RpcError("UNIMPLEMENTED", `${service}@${served.contract.version} on node ${node} has no method "${method}"; its methods: ${known}`, {
        service,
        method,
        node,
        unprocessed: true,
      });
    }
    return endpoint;
  }

  /** Every served `[name, version]`. */
  list(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [name, list] of this.#byName) for (const served of list) out.push([name, served.contract.version]);
    return out;
  }

  /** The contracts served, for tools that show schemas. */
  contracts(): Contract[] {
    return [...this.#byName.values()].flat().map((served) => served.contract);
  }

  /** `name@version, …` for messages. */
  describe(): string {
    return this.list()
      .filter(([name]) => !name.startsWith("amoeba."))
      .map(([name, version]) => `${name}@${version}`)
      .join(", ");
  }

  #match(service: string, range: string | null): Served | undefined {
    const list = this.#byName.get(service);
    if (!list) return undefined;
    if (range === null) range = "*";
    let best: Served | undefined;
    // Of several compatible versions, the newest answers.
    for (const served of list) {
      if (satisfies(served.version, range) && (!best || compareVersions(served.version, best.version) > 0)) best = served;
    }
    return best;
  }
}
