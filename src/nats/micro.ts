/**
 * The NATS micro protocol (the NATS "services" API: `$SRV.PING`, `$SRV.INFO`,
 * `$SRV.STATS`) for the services a node serves, so that NATS's own tools list
 * Amoeba services, their endpoints and their stats, and can call a unary
 * method with a plain NATS request carrying JSON.
 *
 * Each served contract version is one micro service instance; each unary
 * method is one endpoint on `<prefix>.svc.<service>.v<major>.<method>`, in the
 * queue group `q`, so that a plain request reaches one instance of that major
 * version. Amoeba callers that leave the choice of instance to NATS send their
 * calls there too, in Amoeba's encoding (see group-wire.ts). Amoeba's own
 * services (`amoeba.*`) are left out.
 */
import { randomUUID } from "node:crypto";
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { EngineHost } from "../engine.ts";
import type { Logger } from "../logger.ts";
import type { MemberRecord } from "../lookup/types.ts";
import { isBuiltInService } from "../rpc/reflection.ts";
import { isRpcError, RpcError } from "../rpc/rpc-error.ts";
import { parseVersion } from "../rpc/version.ts";
import type { GroupServer } from "./group-server.ts";
import { cancelSubject, WIRE_HEADER, WIRE_VERSION } from "./group-wire.ts";
import { endpointSubject, httpStatus, META, MICRO_TYPES, microName, QUEUE_GROUP, type MicroIdentity, type MicroInfo, type MicroStats } from "./micro-protocol.ts";

interface EndpointCounters {
  requests: number;
  errors: number;
  lastError: string;
  /** Nanoseconds. */
  processing: number;
}

interface ServiceInstance {
  readonly service: string;
  readonly version: string;
  readonly id: string;
  readonly endpoints: Array<{ method: string; subject: string; idempotent: boolean }>;
}

interface EndpointSubscription {
  readonly subscription: Subscription;
  readonly counters: EndpointCounters;
}

const json = new TextEncoder();
const MAX_HEADER_TEXT = 1024;

/** Options of {@link MicroResponder}. */
export interface MicroOptions {
  nc: NatsConnection;
  prefix: string;
  host: EngineHost;
  /** The node's record now (addresses and labels go in the metadata). */
  record: () => MemberRecord;
  logger: Logger;
  /** Serves the calls Amoeba callers send through the queue groups. */
  group: GroupServer;
}

/**
 * Answers the micro protocol for the services its node serves, and serves
 * their unary methods on JSON endpoints. `refresh()` after the node starts
 * or stops serving something.
 */
export class MicroResponder {
  readonly #options: MicroOptions;
  readonly #started = new Date().toISOString();
  readonly #ids = new Map<string, string>();
  #instances: ServiceInstance[] = [];
  readonly #endpoints = new Map<string, EndpointSubscription>();
  #discovery: Subscription[] = [];
  #running = false;

  constructor(options: MicroOptions) {
    this.#options = options;
  }

  /** Answers discovery and serves the endpoints of what the node serves, from now on. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.refresh();
  }

  /** Follows what the node serves now: new endpoints are subscribed, gone ones unsubscribed. */
  refresh(): void {
    if (!this.#running) return;
    const { host, prefix } = this.#options;
    const instances: ServiceInstance[] = [];
    const wanted = new Map<string, { service: string; version: string; method: string }>();
    const cancels = new Set<string>();
    for (const contract of host.registry.contracts()) {
      if (isBuiltInService(contract.name)) continue;
      const key = `${contract.name}@${contract.version}`;
      let id = this.#ids.get(key);
      if (!id) {
        id = randomUUID().replaceAll("-", "");
        this.#ids.set(key, id);
      }
      const endpoints: ServiceInstance["endpoints"] = [];
      for (const [method, def] of Object.entries(contract.methods)) {
        if (def.kind !== "unary") continue;
        const subject = endpointSubject(prefix, contract.name, contract.version, method);
        endpoints.push({ method, subject, idempotent: def.idempotent });
        wanted.set(subject, { service: contract.name, version: contract.version, method });
      }
      if (endpoints.length > 0) cancels.add(cancelSubject(prefix, contract.name, parseVersion(contract.version)?.[0] ?? 0));
      instances.push({ service: contract.name, version: contract.version, id, endpoints });
    }
    this.#instances = instances;
    // Only a node that serves something listens on `$SRV`: one that would not
    // answer must not hide NATS's no-responders from a discovery request.
    if (instances.length > 0 && this.#discovery.length === 0) {
      const callback = (error: Error | null, msg: Msg): void => {
        if (error) return;
        try {
          this.#discover(msg);
        } catch (failure) {
          this.#options.logger.debug({ err: failure }, "micro discovery request dropped");
        }
      };
      this.#discovery = [this.#options.nc.subscribe("$SRV.*", { callback }), this.#options.nc.subscribe("$SRV.*.>", { callback })];
    } else if (instances.length === 0 && this.#discovery.length > 0) {
      for (const subscription of this.#discovery) subscription.unsubscribe();
      this.#discovery = [];
    }
    this.#options.group.follow(cancels);
    for (const [subject, entry] of this.#endpoints) {
      if (!wanted.has(subject)) {
        stopServing(entry.subscription);
        this.#endpoints.delete(subject);
      }
    }
    for (const [subject, target] of wanted) {
      if (this.#endpoints.has(subject)) continue;
      const counters: EndpointCounters = { requests: 0, errors: 0, lastError: "", processing: 0 };
      const major = parseVersion(target.version)?.[0] ?? 0;
      const subscription = this.#options.nc.subscribe(subject, {
        queue: QUEUE_GROUP,
        callback: (error, msg) => {
          if (error) return;
          if (msg.headers?.get(WIRE_HEADER) === WIRE_VERSION) void this.#wireCall(msg, target.service, major, target.method, counters);
          else void this.#request(msg, target.service, `${major}.x`, target.method, counters);
        },
      });
      this.#endpoints.set(subject, { subscription, counters });
    }
  }

  /** Unsubscribes everything: the node no longer answers discovery nor its endpoints. */
  stop(): void {
    this.#running = false;
    for (const subscription of this.#discovery) subscription.unsubscribe();
    this.#discovery = [];
    for (const entry of this.#endpoints.values()) stopServing(entry.subscription);
    this.#endpoints.clear();
    this.#options.group.stop();
  }

  /** The `$SRV.INFO` answers of this node, one per served contract version. */
  info(): MicroInfo[] {
    return this.#instances.map((instance) => ({
      ...this.#identity(MICRO_TYPES.info, instance),
      description: `Amoeba service ${instance.service}@${instance.version} on node ${this.#options.host.nodeName}`,
      endpoints: instance.endpoints.map((endpoint) => ({
        name: endpoint.method,
        subject: endpoint.subject,
        queue_group: QUEUE_GROUP,
        metadata: { "amoeba.kind": "unary", "amoeba.idempotent": String(endpoint.idempotent) },
      })),
    }));
  }

  /** The `$SRV.STATS` answers of this node. */
  stats(): MicroStats[] {
    const admission = this.#options.host.admission;
    return this.#instances.map((instance) => ({
      ...this.#identity(MICRO_TYPES.stats, instance),
      started: this.#started,
      endpoints: instance.endpoints.map((endpoint) => {
        const counters = this.#endpoints.get(endpoint.subject)?.counters ?? { requests: 0, errors: 0, lastError: "", processing: 0 };
        return {
          name: endpoint.method,
          subject: endpoint.subject,
          queue_group: QUEUE_GROUP,
          num_requests: counters.requests,
          num_errors: counters.errors,
          last_error: counters.lastError,
          processing_time: counters.processing,
          average_processing_time: counters.requests === 0 ? 0 : Math.trunc(counters.processing / counters.requests),
          // What the node runs of this contract through every path (Amoeba calls included).
          data: admission.services[`${instance.service}@${instance.version}`] ?? null,
        };
      }),
    }));
  }

  /** The `$SRV.PING` answers of this node. */
  ping(): MicroIdentity[] {
    return this.#instances.map((instance) => this.#identity(MICRO_TYPES.ping, instance));
  }

  #identity(type: string, instance: ServiceInstance): MicroIdentity {
    const record = this.#options.record();
    return {
      type,
      name: microName(instance.service),
      id: instance.id,
      version: instance.version,
      metadata: {
        [META.service]: instance.service,
        [META.node]: record.id,
        [META.nodeName]: record.name,
        [META.cluster]: record.cluster,
        [META.addresses]: record.addresses.join(" "),
        [META.labels]: JSON.stringify(record.labels),
      },
    };
  }

  /** `$SRV.<VERB>[.<name>[.<id>]]`: every matching instance answers once. */
  #discover(msg: Msg): void {
    const reply = msg.reply;
    if (reply === undefined) return;
    const [, verb, name, id, ...rest] = msg.subject.split(".");
    if (rest.length > 0) return;
    let answers: MicroIdentity[];
    if (verb === "PING") answers = this.ping();
    else if (verb === "INFO") answers = this.info();
    else if (verb === "STATS") answers = this.stats();
    else return;
    for (const answer of answers) {
      if (name !== undefined && answer.name !== name) continue;
      if (id !== undefined && answer.id !== id) continue;
      this.#options.nc.publish(reply, json.encode(JSON.stringify(answer)));
    }
  }

  /** A call from an Amoeba client through the queue group, counted in the endpoint's stats. */
  async #wireCall(msg: Msg, service: string, major: number, method: string, counters: EndpointCounters): Promise<void> {
    const start = process.hrtime.bigint();
    counters.requests++;
    const error = await this.#options.group.serve(msg, service, major, method);
    if (error) {
      counters.errors++;
      counters.lastError = `${error.code}: ${error.message}`.slice(0, MAX_HEADER_TEXT);
    }
    counters.processing += Number(process.hrtime.bigint() - start);
  }

  /** A plain NATS request with JSON: runs the method as any call, answers JSON or an error with the standard headers. */
  async #request(msg: Msg, service: string, range: string, method: string, counters: EndpointCounters): Promise<void> {
    const start = process.hrtime.bigint();
    counters.requests++;
    const { host } = this.#options;
    try {
      let input: unknown;
      if (msg.data.length > 0) {
        try {
          input = JSON.parse(msg.string());
        } catch (error) {
          throw new RpcError("INVALID_ARGUMENT", `${service}.${method}: the request is not JSON (${(error as Error).message})`, {
            service,
            method,
            node: host.nodeName,
            unprocessed: true,
          });
        }
      }
      const timeout = Number(msg.headers?.get("Amoeba-Timeout") || Number.NaN);
      const ms = Number.isFinite(timeout) && timeout > 0 ? timeout : host.defaultTimeout;
      const output = await host.callServed(
        {
          service,
          method,
          kind: "unary",
          version: range,
          input,
          deadline: ms === undefined || !Number.isFinite(ms) ? undefined : Date.now() + ms,
          signal: undefined,
          meta: requestMeta(msg),
          onMeta: undefined,
        },
        { id: "", name: "nats-request", address: `nats-subject:${msg.subject}` },
      );
      if (msg.reply === undefined) return;
      const body = json.encode(JSON.stringify(output ?? null));
      if (body.length > (this.#options.nc.info?.max_payload ?? Infinity)) {
        throw new RpcError("RESOURCE_EXHAUSTED", `${service}.${method}: the answer (${body.length} bytes) is over the NATS server's max_payload`, {
          service,
          method,
          node: host.nodeName,
        });
      }
      msg.respond(body);
    } catch (error) {
      counters.errors++;
      const rpc = isRpcError(error)
        ? error
        : new RpcError("INTERNAL", `${service}.${method}: ${(error as Error)?.message ?? String(error)}`, { service, method, node: host.nodeName });
      counters.lastError = `${rpc.code}: ${rpc.message}`.slice(0, MAX_HEADER_TEXT);
      if (msg.reply === undefined) return;
      const h = natsHeaders();
      // Header values are one line: no CR or LF may reach the wire.
      h.set("Nats-Service-Error", rpc.message.replace(/[\r\n]+/g, " ").slice(0, MAX_HEADER_TEXT));
      h.set("Nats-Service-Error-Code", String(httpStatus(rpc.code)));
      h.set("Amoeba-Status", rpc.code);
      let body: Uint8Array;
      try {
        body = json.encode(JSON.stringify({ error: { code: rpc.code, message: rpc.message, details: rpc.details ?? null, unprocessed: rpc.unprocessed } }));
      } catch {
        body = json.encode(JSON.stringify({ error: { code: rpc.code, message: rpc.message } }));
      }
      try {
        msg.respond(body, { headers: h });
      } catch (failure) {
        this.#options.logger.debug({ err: failure }, "answering a NATS request failed");
      }
    } finally {
      counters.processing += Number(process.hrtime.bigint() - start);
    }
  }
}

/**
 * Ends an endpoint subscription by draining it: requests the server already
 * routed here are still served (a draining node refuses them as not
 * processed, so their callers retry elsewhere) instead of being dropped and
 * left to time out.
 */
function stopServing(subscription: Subscription): void {
  subscription.drain().catch(() => subscription.unsubscribe());
}

/** Request headers other than NATS's and Amoeba's own become call metadata (e.g. traceparent). */
function requestMeta(msg: Msg): Record<string, string> | undefined {
  const h = msg.headers;
  if (!h) return undefined;
  let meta: Record<string, string> | undefined;
  for (const key of h.keys()) {
    const lower = key.toLowerCase();
    if (lower.startsWith("nats-") || lower.startsWith("amoeba-")) continue;
    meta ??= {};
    meta[lower] = h.get(key);
  }
  return meta;
}
