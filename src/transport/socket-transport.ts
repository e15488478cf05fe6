import { once } from "node:events";
import { rm } from "node:fs/promises";
import net from "node:net";
import tls from "node:tls";
import { encodeFrame, FrameKind, RESOURCE_EXHAUSTED_CODE, type WireLimits } from "../wire/index.ts";
import { formatAddress, type Address } from "./address.ts";
import type { Connection, Listener } from "./connection.ts";
import { budgetFor, type InboundBudget, type InboundLimits } from "./inbound-limits.ts";
import { SocketConnection } from "./socket-connection.ts";

/** TLS for a listener: its certificate, and for mutual TLS the CA that client certificates must chain to. */
export interface TlsServerOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CAs trusted for client certificates (mutual TLS). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Require and verify a client certificate (mutual TLS). Default: true when `ca` is given. */
  requestCert?: boolean;
}

/** TLS for a dialer: the CAs to trust, and for mutual TLS its own certificate. */
export interface TlsClientOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name to verify the server certificate against. Default: the address's host. */
  servername?: string;
  /** Default true. Turning it off accepts any certificate: for tests only. */
  rejectUnauthorized?: boolean;
}

/** Options of listening on a socket address. */
export interface SocketListenOptions {
  /** The wire limits, and the node-wide ones of {@link InboundLimits} (defaults where absent). */
  limits: WireLimits & Partial<InboundLimits>;
  tls?: TlsServerOptions;
  /** The node-wide account of connections and partial frames. Default: the one of `limits`, shared by every listener given that object. */
  budget?: InboundBudget;
}

/** Options of dialing a socket address. */
export interface SocketDialOptions {
  limits: WireLimits & Partial<InboundLimits>;
  /** As in {@link SocketListenOptions}: dialed connections count their partial frames too. */
  budget?: InboundBudget;
  tls?: TlsClientOptions;
  /** Give up connecting after this many ms. */
  connectTimeout?: number;
}

/** Listens on a TCP or Unix address; each accepted socket becomes a Connection. */
export async function listenSocket(
  address: Extract<Address, { scheme: "tcp" | "unix" }>,
  options: SocketListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  const secure = options.tls !== undefined;
  const budget = options.budget ?? budgetFor(options.limits);
  // Counted from the first byte: with TLS, before the TLS handshake (a refused
  // socket is then closed without a word: no frame can be sent before TLS).
  const admit = (socket: net.Socket): boolean => {
    const admitted = budget.admit(address.scheme === "unix" ? null : (socket.remoteAddress ?? "?"));
    if (typeof admitted !== "string") socket.once("close", admitted);
    else if (secure) socket.destroy();
    else refuse(socket, admitted);
    return typeof admitted !== "string";
  };
  const accept = (socket: net.Socket): void => {
    if (!secure && !admit(socket)) return;
    const remote =
      address.scheme === "unix"
        ? formatAddress(address)
        : formatAddress({ scheme: "tcp", host: socket.remoteAddress ?? "?", port: socket.remotePort ?? 0 });
    onConnection(new SocketConnection(socket, remote, secure, { limits: options.limits, budget }));
  };
  const server = options.tls
    ? tls.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.tls.ca,
          requestCert: options.tls.requestCert ?? options.tls.ca !== undefined,
          rejectUnauthorized: true,
        },
        accept,
      )
    : net.createServer(accept);
  // A failed TLS handshake is that client's problem; it must not take the listener down.
  server.on("tlsClientError", () => {});
  if (secure) server.on("connection", admit);
  if (address.scheme === "unix") {
    await removeStaleSocket(address.path);
    server.listen(address.path);
  } else {
    server.listen(address.port, address.host);
  }
  await Promise.race([once(server, "listening"), once(server, "error").then(([error]) => Promise.reject(error))]);
  const bound = server.address();
  const actual: Address =
    address.scheme === "unix" || bound === null || typeof bound === "string"
      ? address
      : { scheme: "tcp", host: address.host, port: bound.port };
  return {
    address: formatAddress(actual),
    // Stop accepting now; `server.close`'s callback would wait for every
    // established connection, which the node closes on its own schedule.
    close: async () => {
      server.close();
    },
  };
}

/** Dials a TCP or Unix address, with TLS when asked. */
export async function dialSocket(
  address: Extract<Address, { scheme: "tcp" | "unix" }>,
  options: SocketDialOptions,
): Promise<Connection> {
  const target = address.scheme === "unix" ? { path: address.path } : { host: address.host, port: address.port };
  const socket = options.tls
    ? tls.connect({
        ...target,
        ca: options.tls.ca,
        cert: options.tls.cert,
        key: options.tls.key,
        servername: options.tls.servername ?? (address.scheme === "tcp" && net.isIP(address.host) === 0 ? address.host : undefined),
        rejectUnauthorized: options.tls.rejectUnauthorized ?? true,
      })
    : net.connect(target);
  const timeout = options.connectTimeout ?? 10_000;
  const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeout} ms`)), timeout);
  try {
    await once(socket, options.tls ? "secureConnect" : "connect");
  } finally {
    clearTimeout(timer);
  }
  try {
    return new SocketConnection(socket, formatAddress(address), options.tls !== undefined, {
      limits: options.limits,
      budget: options.budget ?? budgetFor(options.limits),
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/**
 * Turns a connection away before reading anything from it: a GOAWAY says why
 * (a dialer's handshake reports it), and the socket is closed whatever the
 * other end does.
 */
function refuse(socket: net.Socket, reason: string): void {
  socket.on("error", () => {});
  socket.end(encodeFrame(FrameKind.GoAway, 0, [RESOURCE_EXHAUSTED_CODE, reason, false]));
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** A socket file left by a process that died would make `listen` fail; remove it only if nobody answers on it. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (!alive) await rm(path, { force: true });
}
