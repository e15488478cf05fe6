/**
 * The one entry of every call a node serves, whether it arrived on a
 * connection, from this same process or through an engine: it finds the
 * endpoint, refuses what no handler may see (draining, unknown service or
 * method, the wrong kind, a deadline already passed, no admission slot), and
 * hands the rest to the endpoint's chain — the node's and the contract's
 * interceptors, Amoeba's own stages (tracing, metrics), validation and the
 * handler — composed once, when the contract is served.
 */
import { MethodKindCode, type Meta } from "../wire/index.ts";
import type { MethodKind } from "./contract.ts";
import { Admission, ServiceGate } from "./admission.ts";
import { withoutCallerMeta } from "./caller-meta.ts";
import type { CallRequest, CallerInfo, Handlers, ServerInterceptor, ServerNext } from "./context.ts";
import type { Contract } from "./contract.ts";
import { DeadlineQueue } from "./deadline-queue.ts";
import { IncomingCall, type CallOwner, type ServingNode } from "./incoming-call.ts";
import { InFlight } from "./in-flight.ts";
import { PassThroughs, type PassThrough } from "./pass-through.ts";
import { checkInterceptors, composeServer } from "./interceptor.ts";
import { LocalUnaryCall } from "./local-call.ts";
import { ServiceRegistry, type Endpoint } from "./registry.ts";
import { RpcError } from "./rpc-error.ts";
import { itemCheck, validated, type ValidationChoice } from "./validation-stage.ts";
import { authorizationStage, checkPolicy, decide, isAuthenticated, type AuthorizationPolicy } from "./authorization.ts";

/** How a node's dispatcher is set up. */
export interface DispatcherOptions {
  /** What to validate against the contracts. */
  readonly validation: ValidationChoice;
  /** The node's concurrency limit (all calls together); default none. */
  readonly concurrency?: number | undefined;
  /** The node's server interceptors, outermost first. */
  readonly interceptors?: readonly ServerInterceptor[] | undefined;
  /** Amoeba's own stages between the user's interceptors and validation (tracing, metrics). */
  readonly stages?: readonly ServerInterceptor[];
  /** Who may call what; none: every caller that reaches the node (see docs/security.md). */
  readonly authorization?: AuthorizationPolicy | undefined;
}

/** Options of serving one contract. */
export interface ServeSettings {
  /** How many calls of this contract run at once; default no limit of its own. */
  readonly concurrency?: number | undefined;
  /** Interceptors of this contract's calls, inside the node's. */
  readonly interceptors?: readonly ServerInterceptor[] | undefined;
}

/** A call as it arrived on a connection, before anything decided on it. */
export interface ArrivedCall {
  readonly id: number;
  readonly service: string;
  readonly method: string;
  readonly version: string | null;
  /** The wire code of the kind the caller expects, when it said. */
  readonly kind: unknown;
  /** Remaining ms, or null for no deadline. */
  readonly timeout: number | null;
  readonly meta: Meta | null;
  /** Credit for a server stream's first items. */
  readonly credit: number;
}

/** Decides on, and starts, every call the node serves. */
export class Dispatcher {
  /** The services served, found by name, version and method. */
  readonly registry = new ServiceRegistry();
  /** Services served without a contract: a gateway's aggregates. */
  readonly #passThroughs = new PassThroughs();
  /** The node's and each contract's concurrency limits. */
  readonly admission: Admission;
  /** True once the node started to close: new calls are refused, unprocessed. */
  draining = false;
  readonly #server: ServingNode;
  readonly #options: DispatcherOptions;
  /** Authorization, then the node's own interceptors: before any contract's. */
  readonly #toldDropped = new WeakSet<CallOwner>();
  readonly #front: readonly ServerInterceptor[];
  /** Amoeba's stages (tracing, metrics): after every interceptor, before validation. */
  readonly #stages: readonly ServerInterceptor[];
  readonly #authorization: AuthorizationPolicy | undefined;

  /** The node's authorization policy, if it has one (the edge applies it to end users' calls). */
  get authorization(): AuthorizationPolicy | undefined {
    return this.#authorization;
  }
  /** The node's own server interceptors (not Amoeba's stages), for entries that are not served calls: the edge's. */
  readonly interceptors: readonly ServerInterceptor[];
  /** In-process unary calls in flight (they use no session). */
  readonly #local = new InFlight();
  /** The deadlines of in-process calls still running after their first turn. */
  readonly #localDeadlines = new DeadlineQueue();

  constructor(server: ServingNode, options: DispatcherOptions) {
    checkInterceptors(options.interceptors, "interceptors.server");
    this.#server = server;
    this.#options = options;
    this.interceptors = [...(options.interceptors ?? [])];
    if (options.authorization !== undefined) checkPolicy(options.authorization);
    this.#authorization = options.authorization;
    const authorize = options.authorization ? [authorizationStage(options.authorization)] : [];
    this.#front = [...authorize, ...this.interceptors];
    this.#stages = options.stages ?? [];
    this.admission = new Admission(server.nodeName, options.concurrency);
  }

  /** Serves `contract`; returns the function that stops serving it. */
  serve<C extends Contract>(contract: C, handlers: Handlers<C>, settings: ServeSettings = {}): () => void {
    checkInterceptors(settings.interceptors, `serve(${contract.name}) interceptors`);
    const gate = new ServiceGate(contract.name, contract.version, settings.concurrency);
    const own = settings.interceptors ?? [];
    const chain = [...this.#front, ...own, ...this.#stages];
    const remove = this.registry.add(contract, handlers, gate, (endpoint) => this.#chain(endpoint, chain));
    const untrack = this.admission.track(gate);
    return () => {
      remove();
      untrack();
    };
  }

  /** Serves one of Amoeba's own services: through the chain like any other, but not counted per contract in the admission stats. */
  serveBuiltIn<C extends Contract>(contract: C, handlers: Handlers<C>): void {
    this.registry.add(contract, handlers, undefined, (endpoint) => this.#chain(endpoint, [...this.#front, ...this.#stages]));
  }

  /**
   * Serves, without a contract, every call of a service `passThrough`
   * covers that no served contract answers; returns the function that stops it.
   */
  servePassThrough(passThrough: PassThrough): () => void {
    return this.#passThroughs.add(passThrough);
  }

  /** The endpoint for a call, served by contract or by a pass-through, or the error that says why there is none. */
  #find(service: string, method: string, range: string | null, kind: MethodKind, node: string): Endpoint | RpcError {
    const found = this.registry.find(service, method, range, node);
    // A served contract without the method answers for itself; only an unknown service or version may pass through.
    if (!(found instanceof RpcError) || found.code !== "NOT_FOUND") return found;
    const front = [...this.#front, ...this.#stages];
    return this.#passThroughs.endpoint({ service, method, kind, version: range }, (handler) => composeServer(front, handler)) ?? found;
  }

  /** An endpoint's chain: `interceptors` around validation around its handler. */
  #chain(endpoint: Omit<Endpoint, "run" | "checkItem">, interceptors: readonly ServerInterceptor[]): Pick<Endpoint, "run" | "checkItem"> {
    const validation = this.#options.validation;
    return {
      run: composeServer(interceptors, validated(endpoint.def, endpoint.handler as ServerNext, validation)),
      checkItem: itemCheck(endpoint.def, endpoint, this.#server.nodeName, validation),
    };
  }

  /** The endpoint served here for a call, or undefined (the fast path: builds no error). */
  served(request: CallRequest): Endpoint | undefined {
    return this.registry.lookup(request.service, request.method, request.version);
  }

  /** Whether a call for `service` in `range` is this node's to answer (even when its method is unknown). */
  servesService(service: string, range: string | null): boolean {
    return this.registry.servesName(service) && this.registry.has(service, range);
  }

  /**
   * Decides on a call that arrived on a connection: the call, ready to start
   * (its owner must track it first), or the error that refuses it unprocessed.
   */
  accept(owner: CallOwner, arrived: ArrivedCall): IncomingCall | RpcError {
    const { service, method } = arrived;
    const node = this.#server.nodeName;
    if (this.draining) return new RpcError("UNAVAILABLE", `node ${node} is draining; not processed — safe to retry`, { service, method, node, unprocessed: true });
    // A caller that proved no identity learns nothing, not even which methods exist.
    const unknown = this.#refuseUnknownCaller(owner.remoteInfo, service, method);
    if (unknown) return unknown;
    const endpoint = this.#find(service, method, arrived.version, KIND_OF_CODE[arrived.kind as number] ?? "unary", node);
    if (endpoint instanceof RpcError) return endpoint;
    if (arrived.kind !== undefined && arrived.kind !== MethodKindCode[endpoint.def.kind]) return wrongKind(endpoint, node, "another kind");
    if (arrived.timeout === 0) {
      return new RpcError("DEADLINE_EXCEEDED", `${service}.${method}: the deadline passed before the call arrived`, { service, method, node, unprocessed: true });
    }
    // Last: a call refused for any reason above takes no slot and counts as no shed load.
    const release = this.admission.tryEnter(endpoint.gate, method);
    if (typeof release !== "function") return release;
    const meta = arrived.meta === null || isAuthenticated(owner.remoteInfo) ? arrived.meta : this.#withoutCallerMeta(arrived.meta, owner.remoteInfo, owner);
    return new IncomingCall(owner, arrived.id, endpoint, meta, arrived.timeout, arrived.credit, release);
  }

  /**
   * Runs a unary call of a service served here, in this process, with every
   * semantic of a call over a connection (admission, validation, deadline,
   * cancellation, interceptors), and no frames.
   */
  callLocally(request: CallRequest, caller: CallerInfo, found?: Endpoint): Promise<unknown> {
    const node = this.#server.nodeName;
    const { service, method } = request;
    if (this.draining) return Promise.reject(new RpcError("UNAVAILABLE", `${service}.${method}: node ${node} is closing; not processed — safe to retry`, { service, method, unprocessed: true }));
    const endpoint = found ?? this.#find(service, method, request.version, request.kind, node);
    if (endpoint instanceof RpcError) return Promise.reject(endpoint);
    if (endpoint.def.kind !== "unary") return Promise.reject(wrongKind(endpoint, node, "unary"));
    const release = this.admission.tryEnter(endpoint.gate, method);
    if (typeof release !== "function") return Promise.reject(release);
    // A NATS request's caller is only claimed: it may not speak for an end user.
    if (request.meta !== undefined && !isAuthenticated(caller)) request = { ...request, meta: this.#withoutCallerMeta(request.meta as Meta, caller) };
    this.#local.enter();
    return new LocalUnaryCall(this.#server, caller, request, this.#localDeadlines, this.#local.leave, release).run(endpoint);
  }

  /**
   * Who has not proved who it is cannot speak for an end user either. Said
   * once per connection (`once`), as a dropped identity puzzles; callers
   * without one (NATS requests) are told at debug level.
   */
  #withoutCallerMeta(meta: Meta, caller: CallerInfo, once?: CallOwner): Meta {
    const kept = withoutCallerMeta(meta);
    if (kept === meta) return meta;
    if (once === undefined) this.#server.logger.debug({ caller: caller.name, address: caller.address }, "dropped amoeba-caller metadata from a caller that proved no identity");
    else if (!this.#toldDropped.has(once)) {
      this.#toldDropped.add(once);
      this.#server.logger.warn(
        { caller: caller.name, address: caller.address },
        `dropped amoeba-caller metadata from ${caller.name} at ${caller.address}, which proved no identity: give the nodes a cluster key or mutual TLS to pass an edge's end user on`,
      );
    }
    return kept as Meta;
  }

  #refuseUnknownCaller(caller: CallerInfo, service: string, method: string): RpcError | null {
    if (this.#authorization === undefined || isAuthenticated(caller)) return null;
    return decide(this.#authorization, caller, service, method, this.#server.nodeName);
  }

  /** Resolves once no in-process call is in flight. */
  localIdle(): Promise<void> {
    return this.#local.idle();
  }
}

/** The method kinds by their wire codes. */
const KIND_OF_CODE: Readonly<Record<number, MethodKind>> = Object.fromEntries(Object.entries(MethodKindCode).map(([kind, code]) => [code, kind as MethodKind]));

function wrongKind(endpoint: Endpoint, node: string, expected: string): RpcError {
  const { service, method } = endpoint;
  return new RpcError("FAILED_PRECONDITION", `${service}.${method} on node ${node} is a ${endpoint.def.kind} method; the caller expected ${expected}`, {
    service,
    method,
    node,
    details: { kind: endpoint.def.kind },
    unprocessed: true,
  });
}
