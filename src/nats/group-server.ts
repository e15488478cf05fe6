/**
 * The serving end of calls through NATS queue groups: a request in Amoeba's
 * encoding that NATS handed to this instance runs as any call of the node
 * (validation, admission, deadline, metadata), can be cancelled by its caller,
 * and is answered on its reply subject — after a reconnection when the server
 * was lost meanwhile, since the client drops what it would send without one.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { EngineHost } from "../engine.ts";
import type { Logger } from "../logger.ts";
import { isValidMeta } from "../rpc/limits.ts";
import { isRpcError, RpcError } from "../rpc/rpc-error.ts";
import { errorToWire } from "../rpc/wire-errors.ts";
import { decodeBody, encodeBody, type Meta } from "../wire/index.ts";
import type { GroupReplyBody } from "./group-wire.ts";

/** Options of a {@link GroupServer}. */
export interface GroupServerOptions {
  nc: NatsConnection;
  host: EngineHost;
  logger: Logger;
  /** Whether the client has a server now. */
  connected: () => boolean;
}

/** Answers held while the client has no server; past this many, the oldest callers wait for their deadline. */
const MAX_HELD = 10_000;
const MAX_NAME = 128;

/** Serves the queue-group calls that reach this node. */
export class GroupServer {
  readonly #options: GroupServerOptions;
  /** Calls running, by reply subject (what a cancel names). */
  readonly #running = new Map<string, AbortController>();
  readonly #cancels = new Map<string, Subscription>();
  #held: Array<{ subject: string; body: Uint8Array }> = [];

  constructor(options: GroupServerOptions) {
    this.#options = options;
  }

  /** Calls running now (for tests). */
  get size(): number {
    return this.#running.size;
  }

  /** Listens for cancels on exactly these subjects (one per service and major version served). */
  follow(subjects: ReadonlySet<string>): void {
    for (const [subject, subscription] of this.#cancels) {
      if (subjects.has(subject)) continue;
      subscription.unsubscribe();
      this.#cancels.delete(subject);
    }
    for (const subject of subjects) {
      if (this.#cancels.has(subject)) continue;
      const subscription = this.#options.nc.subscribe(subject, {
        callback: (error, msg) => {
          if (!error && msg.data.length <= 1024) this.#running.get(msg.string())?.abort(new Error("the caller cancelled the call"));
        },
      });
      this.#cancels.set(subject, subscription);
    }
  }

  /**
   * Runs one call of `service.method` (major version `major`) and answers it.
   * Resolves with the error it ended with, for the endpoint's stats, or
   * undefined when it succeeded.
   */
  async serve(msg: Msg, service: string, major: number, method: string): Promise<RpcError | undefined> {
    const { host } = this.#options;
    const reply = msg.reply;
    const where = { service, method, node: host.nodeName };
    if (reply === undefined) return new RpcError("INVALID_ARGUMENT", `${service}.${method}: a call through the queue group needs a reply subject`, where);
    let controller: AbortController | undefined;
    try {
      let body: unknown;
      try {
        body = decodeBody(msg.data, host.limits.maxDepth);
      } catch (error) {
        throw new RpcError("INVALID_ARGUMENT", `${service}.${method}: the call cannot be read (${(error as Error).message})`, { ...where, unprocessed: true });
      }
      if (!Array.isArray(body) || body.length !== 6) throw new RpcError("INVALID_ARGUMENT", `${service}.${method}: the call is not in Amoeba's encoding`, { ...where, unprocessed: true });
      const [input, meta, range, timeout, callerId, callerName] = body as unknown[];
      if (
        (meta !== null && !isValidMeta(meta, host.limits.maxMetaSize, host.limits.maxMetaEntries)) ||
        (range !== null && typeof range !== "string") ||
        (timeout !== null && (typeof timeout !== "number" || !(timeout > 0))) ||
        typeof callerId !== "string" ||
        typeof callerName !== "string" ||
        callerId.length > MAX_NAME ||
        callerName.length > MAX_NAME
      ) {
        throw new RpcError("INVALID_ARGUMENT", `${service}.${method}: the call's metadata, version, timeout or caller is malformed`, { ...where, unprocessed: true });
      }
      controller = new AbortController();
      // A caller reusing a reply subject means its earlier call is over.
      this.#running.get(reply)?.abort(new Error("the caller reused the reply subject"));
      this.#running.set(reply, controller);
      let responseMeta: Meta | null = null;
      const started = process.hrtime.bigint();
      const output = await host.callServed(
        {
          service,
          method,
          kind: "unary",
          version: (range as string | null) ?? `${major}.x`,
          input,
          deadline: timeout === null ? undefined : Date.now() + (timeout as number),
          signal: controller.signal,
          meta: (meta as Meta | null) ?? undefined,
          onMeta: (sent) => {
            responseMeta = sent;
          },
        },
        { id: callerId, name: callerName, address: `nats://${callerId}` },
      );
      const micros = Number(process.hrtime.bigint() - started) / 1000;
      const answer: GroupReplyBody = [0, output, responseMeta, Math.round(micros)];
      let bytes: Uint8Array;
      try {
        bytes = encodeBody(answer);
      } catch (error) {
        throw new RpcError("INTERNAL", `${service}.${method}: the output cannot be encoded (${(error as Error).message})`, where);
      }
      const max = this.#options.nc.info?.max_payload ?? Infinity;
      if (bytes.length > max) throw new RpcError("RESOURCE_EXHAUSTED", `${service}.${method}: the answer (${bytes.length} bytes) is over the NATS server's max_payload`, where);
      this.#answer(reply, bytes);
      return undefined;
    } catch (error) {
      const rpc = isRpcError(error) ? error : new RpcError("INTERNAL", `${service}.${method}: ${(error as Error)?.message ?? String(error)}`, where);
      // A cancelled caller is gone: nothing to tell it.
      if (!controller?.signal.aborted) this.#answer(reply, encodeError(rpc));
      return rpc;
    } finally {
      if (controller && this.#running.get(reply) === controller) this.#running.delete(reply);
    }
  }

  /** The client has a server again: the answers held meanwhile go out. */
  reconnected(): void {
    const held = this.#held;
    this.#held = [];
    for (const { subject, body } of held) this.#publish(subject, body);
  }

  /** Stops listening for cancels; calls running finish and are answered. */
  stop(): void {
    for (const subscription of this.#cancels.values()) subscription.unsubscribe();
    this.#cancels.clear();
  }

  /** The node stopped: calls still running are cancelled (their handlers' signals fire). */
  close(): void {
    this.stop();
    for (const controller of [...this.#running.values()]) controller.abort(new Error("the node stopped before the call finished"));
    this.#running.clear();
    this.#held = [];
  }

  #answer(subject: string, body: Uint8Array): void {
    if (this.#options.connected()) this.#publish(subject, body);
    else if (this.#held.length < MAX_HELD) this.#held.push({ subject, body });
  }

  #publish(subject: string, body: Uint8Array): void {
    try {
      this.#options.nc.publish(subject, body);
    } catch (error) {
      this.#options.logger.debug({ err: error, subject }, "answering a NATS queue-group call failed");
    }
  }
}

/** An error answer; details that cannot be encoded are left out rather than losing the answer. */
function encodeError(error: RpcError): Uint8Array {
  const body = errorToWire(error, false);
  try {
    return encodeBody([1, body] satisfies GroupReplyBody);
  } catch {
    body[2] = null;
    return encodeBody([1, body] satisfies GroupReplyBody);
  }
}
