/** A small WebSocket JSON-RPC client for the edge tests: messages queue up, `next()` takes them in order. */
import { WebSocket } from "ws";
import { within } from "../conformance/helpers.ts";

export interface TestSocket {
  readonly ws: WebSocket;
  /** Sends a value as JSON text, or a string as is. */
  send(message: unknown): void;
  /** The next message received, parsed; fails after 10 s. */
  next(): Promise<any>;
  /** Messages until (and with) the response of `id`. */
  until(id: unknown): Promise<any[]>;
  /** Resolves with the close code once the socket closed. */
  closed: Promise<number>;
  close(): void;
}

export async function openSocket(url: string, options: { headers?: Record<string, string>; path?: string; maxPayload?: number } = {}): Promise<TestSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}${options.path ?? "/jsonrpc"}`, { headers: options.headers, maxPayload: options.maxPayload ?? 64 * 1024 * 1024 });
  const queue: unknown[] = [];
  const waiters: Array<(value: unknown) => void> = [];
  ws.on("message", (data) => {
    const value = JSON.parse(String(data));
    const waiter = waiters.shift();
    if (waiter) waiter(value);
    else queue.push(value);
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await within(
    new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    }),
    10_000,
    "the WebSocket opens",
  );
  ws.on("error", () => {});
  const next = (): Promise<any> => {
    if (queue.length > 0) return Promise.resolve(queue.shift());
    return within(new Promise((resolve) => waiters.push(resolve)), 10_000, "a WebSocket message arrives");
  };
  return {
    ws,
    send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    next,
    async until(id) {
      const out: any[] = [];
      // Bounded: at most 10 000 messages before the response.
      for (let i = 0; i < 10_000; i++) {
        const message = await next();
        out.push(message);
        if (message.id === id && (message.result !== undefined || message.error !== undefined)) return out;
      }
      throw new Error(`no response for id ${String(id)} within 10 000 messages`);
    },
    closed,
    close: () => ws.close(),
  };
}

/** The status code a refused upgrade answered with. */
export async function upgradeStatus(url: string, options: { headers?: Record<string, string>; path?: string } = {}): Promise<number> {
  try {
    const socket = await openSocket(url, options);
    socket.close();
    return 101;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === undefined) throw error;
    return status;
  }
}
