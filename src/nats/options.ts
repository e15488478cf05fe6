/**
 * How a node connects to NATS: servers, credentials and TLS, in one place,
 * turned into the client's connection options. A connection that fails is
 * reported with what to check, e.g. the credentials.
 */
import {
  connect,
  nkeyAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import type { NatsLookupOptions } from "./lookup.ts";

/** TLS to the NATS servers. PEM text or buffers. */
export interface NatsTlsOptions {
  /** CAs to trust for the servers' certificates. */
  ca?: string | Buffer;
  /** A client certificate and its key, when the servers verify clients. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true. Off accepts any certificate: for tests only. */
  rejectUnauthorized?: boolean;
}

/** Options of the NATS engine: `nats({ servers: ["nats://127.0.0.1:4222"] })`. */
export interface NatsEngineOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222` or `tls://nats.internal:4222`. */
  servers: string | string[];
  /** Prefix of Amoeba's subjects (node inboxes, announcements, endpoints). Default `"amoeba"`. */
  prefix?: string;
  /** User and password authentication. */
  user?: string;
  pass?: string;
  /** Token authentication. */
  token?: string;
  /** NKey authentication: the user's seed (`SU…`); the client signs the server's challenge with it. */
  nkeySeed?: string;
  /** TLS to the servers. */
  tls?: NatsTlsOptions;
  /** Give up the first connection after this many ms. Default 5000. */
  connectTimeout?: number;
  /** The client name the servers show in their monitoring. Default: the node's name. */
  name?: string;
  /** Look-up timing (announcements, `$SRV.INFO` sweeps, when a member counts as dead). */
  lookup?: NatsLookupOptions;
}

/** Options checked, with defaults. */
export interface ResolvedNatsOptions extends NatsEngineOptions {
  servers: string[];
  prefix: string;
}

const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Checks the options; a TypeError names the one at fault. */
export function resolveNatsOptions(options: NatsEngineOptions): ResolvedNatsOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("nats() takes options: { servers: [\"nats://host:4222\"] }");
  const servers = typeof options.servers === "string" ? [options.servers] : options.servers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === "string" && s !== "")) {
    throw new TypeError("nats(): servers must name at least one NATS server, e.g. nats://127.0.0.1:4222");
  }
  const prefix = options.prefix ?? "amoeba";
  if (!PREFIX.test(prefix)) throw new TypeError(`nats(): prefix "${prefix}" must be subject tokens of letters, digits, '-' or '_', separated by dots`);
  const kinds = [options.user !== undefined, options.token !== undefined, options.nkeySeed !== undefined].filter(Boolean).length;
  if (kinds > 1) throw new TypeError("nats(): give one kind of credential: user and pass, a token, or an nkey seed");
  if (options.pass !== undefined && options.user === undefined) throw new TypeError("nats(): pass needs a user");
  return { ...options, servers, prefix };
}

/** The client's connection options for these settings. */
export function connectionOptions(options: ResolvedNatsOptions, clientName: string): NodeConnectionOptions {
  const out: NodeConnectionOptions = {
    servers: options.servers,
    name: options.name ?? clientName,
    timeout: options.connectTimeout ?? 5_000,
    // Keep trying forever: a node outlives any one server.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
  };
  if (options.user !== undefined) {
    out.user = options.user;
    if (options.pass !== undefined) out.pass = options.pass;
  }
  if (options.token !== undefined) out.token = options.token;
  if (options.nkeySeed !== undefined) out.authenticator = nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed.trim()));
  if (options.tls) {
    const tls = options.tls;
    out.tls = {
      ...(tls.ca !== undefined ? { ca: String(tls.ca) } : {}),
      ...(tls.cert !== undefined ? { cert: String(tls.cert) } : {}),
      ...(tls.key !== undefined ? { key: String(tls.key) } : {}),
      ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    };
  }
  return out;
}

/** Connects, turning the client's failure into a message that says what to check. */
export async function connectNats(options: ResolvedNatsOptions, clientName: string): Promise<NatsConnection> {
  try {
    return await connect(connectionOptions(options, clientName));
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    const where = options.servers.join(", ");
    if (/authoriz|authenticat|permission|nkey|user|token/i.test(message) || (error as Error)?.name === "AuthorizationError") {
      throw new Error(`the NATS server at ${where} refused the credentials (${message}); check user/pass, token or nkey seed`, { cause: error });
    }
    if (/tls|certificate|ssl|self.signed/i.test(message)) {
      throw new Error(`TLS to the NATS server at ${where} failed (${message}); check tls.ca, tls.cert and tls.key`, { cause: error });
    }
    throw new Error(`cannot connect to the NATS server at ${where}: ${message}`, { cause: error });
  }
}
