import { randomUUID } from "node:crypto";
import type { Contract } from "../../rpc/contract.ts";
import type { CallContext, CallerInfo, Handlers } from "../../rpc/context.ts";
import { isSelf } from "../../rpc/authorization.ts";
import { RpcError } from "../../rpc/rpc-error.ts";
import { ChangeQueue } from "../change-queue.ts";
import type { MembershipEvent } from "../types.ts";
import { RegistryContract } from "./contract.ts";
import { RegistryTable } from "./table.ts";

/** What serving the registry needs of a node. */
export interface RegistryHost {
  serve<C extends Contract>(contract: C, handlers: Handlers<C>): () => void;
}

/** Options of the registry server. */
export interface RegistryServerOptions {
  /** How often expired records are swept (ms). Default 250. */
  sweepInterval?: number;
  /**
   * Aborting it ends every open watch. Give it the moment shutdown begins:
   * watches never end by themselves, so a drain would otherwise wait them out.
   */
  signal?: AbortSignal;
}

/**
 * Serves the registry on a node: nodes register with a TTL and refresh it by
 * heartbeats; clients list and watch. Returns the function that stops it.
 */
export function serveRegistry(host: RegistryHost, options: RegistryServerOptions = {}): () => void {
  const table = new RegistryTable();
  const boot = randomUUID();
  const startedAt = performance.now();
  const watchers = new Set<ChangeQueue<MembershipEvent>>();
  const sweeper = setInterval(() => table.sweep(Date.now()), options.sweepInterval ?? 250);
  sweeper.unref();
  const stopServing = host.serve(RegistryContract, {
    register: ({ record, ttl }, ctx) => {
      // A node registers itself only: the record is the one its connection's handshake named
      // (the registry's own node, in-process, may write any: it is the registry's operator).
      if (record.id !== ctx.caller.id && !isSelf(ctx.caller)) throw refusal(ctx, `a node registers its own record only: this connection is node ${ctx.caller.id}, the record ${record.id}`);
      const refused = table.register(record, ttl, Date.now(), ownerOf(ctx.caller));
      if (refused) throw refusal(ctx, refused.refused);
      return { ttl };
    },
    deregister: ({ id }, ctx) => {
      if (id !== ctx.caller.id && !isSelf(ctx.caller)) throw refusal(ctx, `a node deregisters its own record only: this connection is node ${ctx.caller.id}, not ${id}`);
      const removed = table.deregister(id, Date.now(), ownerOf(ctx.caller));
      if (typeof removed === "object") throw refusal(ctx, removed.refused);
      return { removed };
    },
    members: () => table.members(),
    hello: () => ({ boot, uptimeMs: Math.round(performance.now() - startedAt) }),
    async *watch(_input, ctx) {
      const queue = new ChangeQueue<MembershipEvent>();
      if (options.signal?.aborted) queue.end();
      watchers.add(queue);
      const stop = table.on((event) => queue.push(event));
      const end = (): void => queue.end();
      ctx.signal.addEventListener("abort", end, { once: true });
      try {
        for (const member of table.members()) yield { type: "join", member } satisfies MembershipEvent;
        for await (const event of queue) yield event;
      } finally {
        watchers.delete(queue);
        stop();
        ctx.signal.removeEventListener("abort", end);
      }
    },
  });
  const endWatches = (): void => {
    for (const queue of watchers) queue.end();
  };
  options.signal?.addEventListener("abort", endWatches, { once: true });
  return () => {
    clearInterval(sweeper);
    options.signal?.removeEventListener("abort", endWatches);
    endWatches();
    stopServing();
  };
}

/**
 * Who owns a record: a registrant with a verified certificate is known by its
 * subject and issuer (so a renewed certificate keeps its records), one with a
 * token by the token's name; one with neither by its node id alone.
 */
function ownerOf(caller: CallerInfo): string | undefined {
  const cert = caller.certificate;
  if (cert) return `cert:${cert.subject} (issued by ${cert.issuer})`;
  return caller.token === undefined ? undefined : `token:${caller.token}`;
}

function refusal(ctx: CallContext, why: string): RpcError {
  return new RpcError("PERMISSION_DENIED", `${ctx.service}.${ctx.method} on node ${ctx.node}: ${why}`, { service: ctx.service, method: ctx.method, node: ctx.node, unprocessed: true });
}
