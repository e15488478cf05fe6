import { Socket } from "node:dgram";
import { countDatagram, emptyTraffic, type TrafficCounts } from "./traffic.ts";

/**
 * Counts every UDP datagram this process sends and receives. `startNode`
 * creates its gossip transport itself and offers no hook to wrap it, so the
 * meter sits one level lower, on `dgram.Socket`: in a member process the only
 * UDP socket is the gossip one, so what it counts is membership traffic, with
 * the node running exactly as users run it.
 */
export const traffic: TrafficCounts = emptyTraffic();

let installed = false;

/** Starts counting; call before the node opens its socket. Idempotent. */
export function installByteMeter(): void {
  if (installed) return;
  installed = true;
  const proto = Socket.prototype as unknown as {
    send: (...args: unknown[]) => void;
    emit: (event: string | symbol, ...args: unknown[]) => boolean;
  };
  const send = proto.send;
  proto.send = function (this: Socket, ...args: unknown[]): void {
    // The gossip transport sends one whole Uint8Array per call.
    if (args[0] instanceof Uint8Array) countDatagram(traffic.sent, args[0]);
    return send.apply(this, args);
  };
  const emit = proto.emit;
  proto.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "message" && args[0] instanceof Uint8Array) countDatagram(traffic.received, args[0]);
    return emit.call(this, event, ...args);
  };
}
