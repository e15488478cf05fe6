import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { GossipTransport } from "./types.ts";

/** Options of {@link createUdpTransport}. */
export interface UdpTransportOptions {
  /** Larger datagrams are neither sent nor accepted. Default 65 507 (UDP over IPv4). */
  maxDatagramSize?: number;
  /** Told of socket errors, which never escape otherwise. */
  onError?: (error: Error) => void;
}

/** A gossip transport on a UDP socket; `address` has the real port once bound. */
export interface UdpTransport extends GossipTransport {
  /** Datagrams not sent (too large, bad address, socket error) or refused (too large). */
  readonly dropped: number;
}

const MAX_UDP = 65_507;

/**
 * Binds a UDP socket at `udp://host:port` (port 0: any free port). Sending never
 * throws: a bad address, an oversized datagram or a socket error is a lost
 * datagram, which the protocol expects anyway. Bind the host peers will reach:
 * `address` reports the bound host, so `0.0.0.0` is not useful to advertise.
 */
export async function createUdpTransport(address: string, options: UdpTransportOptions = {}): Promise<UdpTransport> {
  const { host, port } = parseUdpAddress(address);
  const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => reject(error);
    socket.once("error", failed);
    socket.bind(port, host, () => {
      socket.off("error", failed);
      resolve();
    });
  });
  return new UdpSocketTransport(socket, options);
}

/** Parses `udp://host:port` (IPv6 hosts in brackets); throws a RangeError otherwise. */
export function parseUdpAddress(text: string): { host: string; port: number } {
  const match = /^udp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new RangeError(`"${text}" is not a UDP address; use udp://host:port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

function formatUdpAddress(host: string, port: number): string {
  return `udp://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

class UdpSocketTransport implements UdpTransport {
  readonly address: string;
  readonly #socket: Socket;
  readonly #max: number;
  readonly #onError: (error: Error) => void;
  // Parsed peer addresses; bounded, as senders are not ours to choose.
  readonly #parsed = new Map<string, { host: string; port: number } | null>();
  #handler: ((from: string, bytes: Uint8Array) => void) | null = null;
  #closed: Promise<void> | null = null;
  #dropped = 0;

  constructor(socket: Socket, options: UdpTransportOptions) {
    this.#socket = socket;
    this.#max = Math.min(options.maxDatagramSize ?? MAX_UDP, MAX_UDP);
    this.#onError = options.onError ?? (() => {});
    const bound = socket.address();
    this.address = formatUdpAddress(bound.address, bound.port);
    socket.on("error", (error) => this.#report(error));
    socket.on("message", (message, remote) => {
      if (message.length > this.#max) {
        this.#dropped++;
        return;
      }
      try {
        this.#handler?.(formatUdpAddress(remote.address, remote.port), message);
      } catch (error) {
        this.#report(error as Error);
      }
    });
  }

  get dropped(): number {
    return this.#dropped;
  }

  send(to: string, bytes: Uint8Array): void {
    if (this.#closed || bytes.length > this.#max) {
      this.#dropped++;
      return;
    }
    const peer = this.#peer(to);
    if (!peer) {
      this.#dropped++;
      return;
    }
    try {
      this.#socket.send(bytes, peer.port, peer.host, (error) => {
        if (error) {
          this.#dropped++;
          this.#report(error);
        }
      });
    } catch (error) {
      this.#dropped++;
      this.#report(error as Error);
    }
  }

  onMessage(handler: (from: string, bytes: Uint8Array) => void): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.#closed;
  }

  #peer(to: string): { host: string; port: number } | null {
    let peer = this.#parsed.get(to);
    if (peer === undefined) {
      try {
        peer = parseUdpAddress(to);
      } catch {
        peer = null;
      }
      if (this.#parsed.size >= 4096) this.#parsed.clear();
      this.#parsed.set(to, peer);
    }
    return peer;
  }

  #report(error: Error): void {
    try {
      this.#onError(error);
    } catch {
      // An error reporter that throws must not take the socket down.
    }
  }
}
