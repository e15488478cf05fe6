/**
 * What the edge may call: the public methods of the services its node can
 * reach, learned by reflection (`amoeba.reflect.describe`) since the edge has
 * no TypeScript contracts, each with a ready client that calls by name.
 */
import type { Node } from "../node/index.ts";
import { nodeInternals } from "../node/node.ts";
import type { ClientTally } from "./client-tally.ts";
import { throughServerChain, type EdgeCall } from "./edge-pipeline.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import type { Peer } from "../node/peer.ts";
import type { CallOptions } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { ServerInterceptor } from "../rpc/context.ts";
import { bidiStream, clientStream, contract, stream, unary, type MethodDef, type MethodKind } from "../rpc/contract.ts";
import { describeServices, isBuiltInService, ReflectionContract, type ServiceDescription } from "../rpc/reflection.ts";
import type { StandardSchemaV1 } from "../rpc/schema.ts";
import { compareVersions, compatibleRange, parseVersion } from "../rpc/version.ts";

/** One public method the edge can call. */
export interface EdgeMethod {
  readonly service: string;
  /** The version described (the newest known); calls accept `^` it. */
  readonly version: string;
  readonly name: string;
  readonly kind: MethodKind;
  readonly idempotent: boolean;
  readonly description: string | undefined;
  /** JSON Schemas from reflection; `{}` when the service's schema library cannot say. */
  readonly input: Record<string, unknown>;
  readonly output: Record<string, unknown>;
  /** Calls it, balanced by the edge's node among the instances it knows. */
  readonly call: (input: unknown, options: CallOptions) => Promise<unknown> | CallStream<unknown>;
}

/** A service as the edge shows it: its newest known version and public methods. */
export interface EdgeService {
  readonly name: string;
  readonly version: string;
  readonly methods: ReadonlyMap<string, EdgeMethod>;
}

/** Where a service version can be asked for its description. */
type Source = { kind: "local" } | { kind: "peer"; peer: Peer } | { kind: "address"; address: string };

/**
 * Accepts any value: checking is the callee's, against its own contract (it
 * answers INVALID_ARGUMENT with the schema's issues).
 */
const anyValue: StandardSchemaV1<unknown, unknown> = Object.freeze({
  "~standard": Object.freeze({ version: 1 as const, vendor: "amoeba-edge", validate: (value: unknown) => ({ value }) }),
});

const MAKERS: Record<MethodKind, (spec: { input: typeof anyValue; output: typeof anyValue; idempotent: boolean }) => MethodDef> = {
  unary: (spec) => unary(spec),
  "server-stream": (spec) => stream(spec),
  "client-stream": (spec) => clientStream(spec),
  "bidi-stream": (spec) => bidiStream(spec),
};

/** How long asking one node for a description may take (ms). */
const DESCRIBE_TIMEOUT_MS = 3_000;

/** The catalog of what the edge exposes; refreshed on a timer, on membership changes and on a miss. */
export class EdgeCatalog {
  readonly #node: Node;
  readonly #peers: () => readonly Peer[];
  readonly #onError: (error: unknown, what: string) => void;
  /** The edge's own stages before the node's interceptors: its authorization. */
  readonly #front: readonly ServerInterceptor[];
  readonly #tally: ClientTally | undefined;
  /** Descriptions by `name@version`; a version of a contract does not change, so they are kept. */
  readonly #described = new Map<string, ServiceDescription>();
  #services = new Map<string, EdgeService>();
  /** The newest described version of every reachable service, public or not. */
  #newest = new Map<string, string>();
  #refreshing: Promise<void> | null = null;
  #lastRefresh = -Infinity;
  /** Grows whenever what the catalog shows changed (for cached documents such as OpenAPI). */
  #generation = 0;

  /** `front`: the edge's own stages, before the node's server interceptors, of every call it places. */
  constructor(node: Node, peers: () => readonly Peer[], onError: (error: unknown, what: string) => void, front: readonly ServerInterceptor[] = [], tally?: ClientTally) {
    this.#tally = tally;
    this.#node = node;
    this.#peers = peers;
    this.#onError = onError;
    this.#front = front;
  }

  #counted(call: EdgeCall): EdgeCall {
    return this.#tally ? this.#tally.counted(call) : call;
  }

  /** The method, when public and known: the hot path, two map look-ups. */
  method(service: string, method: string): EdgeMethod | undefined {
    return this.#services.get(service)?.methods.get(method);
  }

  /**
   * The method, refreshing first when it is unknown and the last refresh is
   * older than `minAge` ms (so a service that just appeared is found, while a
   * flood of unknown names costs at most one refresh per `minAge`).
   */
  async find(service: string, method: string, minAge: number): Promise<EdgeMethod | undefined> {
    const found = this.method(service, method);
    if (found !== undefined || performance.now() - this.#lastRefresh < minAge) return found;
    await this.refresh();
    return this.method(service, method);
  }

  /** Every service with at least one public method, by name. */
  get services(): ReadonlyMap<string, EdgeService> {
    return this.#services;
  }

  /** Grows whenever the services shown changed. */
  get generation(): number {
    return this.#generation;
  }

  /** Milliseconds since the last refresh finished. */
  get age(): number {
    return performance.now() - this.#lastRefresh;
  }

  /** Relearns what the node can reach; concurrent callers share one refresh. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#lastRefresh = performance.now();
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const available = this.#available();
    // Describe what is new, one request per service version, all at once.
    await Promise.all(
      [...available].filter(([key]) => !this.#described.has(key)).map(([key, { name, version, sources }]) => this.#describe(key, name, version, sources)),
    );
    // The newest version of each service that some instance still serves.
    const newest = new Map<string, string>();
    for (const { name, version } of available.values()) {
      const current = newest.get(name);
      if (this.#described.has(`${name}@${version}`) && (current === undefined || compareVersions(parseVersion(version)!, parseVersion(current)!) > 0)) {
        newest.set(name, version);
      }
    }
    let changed = newest.size !== this.#newest.size;
    for (const [name, version] of newest) if (this.#newest.get(name) !== version) changed = true;
    if (!changed) return;
    const next = new Map<string, EdgeService>();
    for (const [name, version] of newest) {
      const previous = this.#services.get(name);
      const service = previous?.version === version ? previous : this.#build(this.#described.get(`${name}@${version}`)!);
      if (service.methods.size > 0) next.set(name, service);
    }
    this.#newest = newest;
    this.#services = next;
    this.#generation++;
  }

  /** Every `name@version` reachable now, with where each can be described. */
  #available(): Map<string, { name: string; version: string; sources: Source[] }> {
    const out = new Map<string, { name: string; version: string; sources: Source[] }>();
    const add = (name: string, version: string, source: Source): void => {
      if (isBuiltInService(name) || parseVersion(version) === undefined) return;
      const key = `${name}@${version}`;
      const entry = out.get(key);
      if (entry) entry.sources.push(source);
      else out.set(key, { name, version, sources: [source] });
    };
    for (const [name, version] of nodeInternals(this.#node).registry.list()) add(name, version, { kind: "local" });
    for (const peer of this.#peers()) {
      for (const [name, version] of peer.services) add(name, version, { kind: "peer", peer });
    }
    const host = this.#node.labels.host;
    for (const member of this.#node.members()) {
      if (member.state === "dead" || member.state === "left" || member.record.id === this.#node.id) continue;
      const address = reachableAddress(member.record, host);
      if (address === undefined) continue;
      for (const [name, version] of member.record.services) add(name, version, { kind: "address", address });
    }
    return out;
  }

  async #describe(key: string, name: string, version: string, sources: Source[]): Promise<void> {
    // Local first (no round trip), then the others in turn until one answers.
    const ordered = [...sources].sort((a, b) => (a.kind === "local" ? -1 : b.kind === "local" ? 1 : 0));
    for (const source of ordered) {
      try {
        const described = await this.#ask(source, name);
        const match = described.find((entry) => entry.name === name && entry.version === version);
        if (match) {
          this.#described.set(key, match);
          return;
        }
      } catch (error) {
        this.#onError(error, `describing ${key}`);
      }
    }
  }

  async #ask(source: Source, service: string): Promise<ServiceDescription[]> {
    if (source.kind === "local") return describeServices(nodeInternals(this.#node).registry, service);
    const peer = source.kind === "peer" ? source.peer : await this.#node.connect(source.address, { connectTimeout: DESCRIBE_TIMEOUT_MS });
    const described = await peer.client(ReflectionContract).describe({ service }, { timeout: DESCRIBE_TIMEOUT_MS });
    return Array.isArray(described) ? described : [];
  }

  /** The public methods of a description, each with its client function. */
  #build(description: ServiceDescription): EdgeService {
    const publicMethods = (Array.isArray(description.methods) ? description.methods : []).filter(
      (m) => m?.public === true && typeof m.name === "string" && Object.hasOwn(MAKERS, m.kind),
    );
    const methods = new Map<string, EdgeMethod>();
    if (publicMethods.length === 0) return { name: description.name, version: description.version, methods };
    // A contract of the public methods only, with schemas that let anything
    // through: the node's client then balances, retries and applies deadlines
    // exactly as for a typed client, and the callee validates.
    const table: Record<string, MethodDef> = {};
    for (const m of publicMethods) table[m.name] = MAKERS[m.kind]({ input: anyValue, output: anyValue, idempotent: m.idempotent === true });
    let client: Record<string, (input: unknown, options: CallOptions) => Promise<unknown> | CallStream<unknown>>;
    try {
      const dynamic = contract(description.name, description.version, table);
      client = this.#node.client(dynamic, { version: compatibleRange(description.version) }) as unknown as typeof client;
    } catch (error) {
      this.#onError(error, `building a client of ${description.name}@${description.version}`);
      return { name: description.name, version: description.version, methods };
    }
    for (const m of publicMethods) {
      methods.set(m.name, {
        service: description.name,
        version: description.version,
        name: m.name,
        kind: m.kind,
        idempotent: m.idempotent === true,
        description: typeof m.description === "string" ? m.description : undefined,
        input: isObject(m.input) ? m.input : {},
        output: isObject(m.output) ? m.output : {},
        call: this.#counted(throughServerChain(this.#node, description.name, m.name, m.kind, client[m.name]!, this.#front)),
      });
    }
    return { name: description.name, version: description.version, methods };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
