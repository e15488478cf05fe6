/**
 * What the edge tests share: a contract with public and private methods, a
 * node serving it with handlers that record what they saw, an edge in front
 * of it on a free port, and small HTTP helpers.
 */
import { request as httpRequest } from "node:http";
import { z } from "zod";
import { bidiStream, clientStream, contract, RpcError, startNode, stream, unary, type Handlers, type Node } from "../../src/index.ts";
import { startEdge, type Edge, type EdgeOptions } from "../../src/edge/index.ts";
import { deferred, recordingLogger, type Deferred } from "../conformance/helpers.ts";

/** Public unless a method says otherwise. */
export const Shop = contract(
  "shop",
  "1.2.0",
  {
    add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number(), idempotent: true, description: "The sum of a and b." }),
    count: stream({ input: z.object({ to: z.number().int().min(0).max(100_000) }), output: z.number() }),
    fail: unary({ input: z.object({ code: z.string(), message: z.string() }), output: z.null() }),
    crash: unary({ input: z.object({}), output: z.null() }),
    sleep: unary({ input: z.object({ ms: z.number().int().min(0) }), output: z.number() }),
    whoami: unary({ input: z.object({}), output: z.object({ caller: z.string().nullable(), role: z.string().nullable() }) }),
    sum: clientStream({ input: z.number(), output: z.number() }),
    forever: stream({ input: z.object({}), output: z.number() }),
    echoMeta: unary({ input: z.object({ set: z.record(z.string(), z.string()).optional() }), output: z.record(z.string(), z.string()) }),
    double: bidiStream({ input: z.number(), output: z.number() }),
    hold: clientStream({ input: z.number(), output: z.number() }),
    secret: unary({ input: z.object({}), output: z.string(), public: false }),
  },
  { public: true },
);

/** Not public at all. */
export const Vault = contract("vault", "1.0.0", {
  open: unary({ input: z.object({}), output: z.string() }),
  peek: unary({ input: z.object({}), output: z.string(), public: true }),
});

/** What the handlers saw. */
export interface Seen {
  /** Resolves when a `sleep` or `forever` call's ctx.signal fires, with the abort reason's code. */
  aborted: Deferred<string>;
  /** Resolves when a `forever` stream started. */
  foreverStarted: Deferred<void>;
  /** How many times `secret` ran (never, through the edge). */
  secretCalls: number;
}

export function shopHandlers(seen: Seen): Handlers<typeof Shop> {
  return {
    add: ({ a, b }) => a + b,
    async *count({ to }, ctx) {
      for (let i = 1; i <= to && !ctx.signal.aborted; i++) yield i;
    },
    fail: ({ code, message }) => {
      throw new RpcError(code as RpcError["code"], message, { details: { hint: "from the handler" } });
    },
    crash: () => {
      throw new Error("database password is hunter2");
    },
    sleep: ({ ms }, ctx) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms), ms);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          seen.aborted.resolve((ctx.signal.reason as RpcError)?.code ?? "?");
          reject(ctx.signal.reason);
        });
      }),
    whoami: (_input, ctx) => ({ caller: ctx.meta["amoeba-caller"] ?? null, role: ctx.meta["x-role"] ?? null }),
    async sum(items) {
      let total = 0;
      for await (const n of items) total += n;
      return total;
    },
    async *forever(_input, ctx) {
      seen.foreverStarted.resolve();
      ctx.signal.addEventListener("abort", () => seen.aborted.resolve((ctx.signal.reason as RpcError)?.code ?? "?"));
      let i = 0;
      // Bounded: a test that forgets to cancel still ends.
      while (!ctx.signal.aborted && i < 100_000) {
        yield i++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    echoMeta: ({ set }, ctx) => {
      Object.assign(ctx.responseMeta, set);
      return { ...ctx.meta };
    },
    async *double(items, ctx) {
      let count = 0;
      for await (const n of items) {
        count++;
        yield n * 2;
      }
      ctx.responseMeta["x-doubled"] = String(count);
    },
    // Never reads its input: what a client sends piles up against its credit.
    hold: (_items, ctx) =>
      new Promise<number>((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => {
          seen.aborted.resolve((ctx.signal.reason as RpcError)?.code ?? "?");
          reject(ctx.signal.reason);
        });
      }),
    secret: () => {
      seen.secretCalls++;
      return "s3cret";
    },
  };
}

export function newSeen(): Seen {
  return { aborted: deferred<string>(), foreverStarted: deferred<void>(), secretCalls: 0 };
}

/** A node serving Shop and Vault, and an edge in front of it (same process, free port, no rate limit unless asked). */
export async function startShopEdge(options: EdgeOptions = {}): Promise<{ edge: Edge; node: Node; seen: Seen; url: string; close: () => Promise<void> }> {
  const seen = newSeen();
  const node = await startNode({ name: "shop-node", logger: recordingLogger() });
  node.serve(Shop, shopHandlers(seen));
  node.serve(Vault, { open: () => "gold", peek: () => "a glimpse" });
  const edge = await startEdge({ node, port: 0, rateLimit: false, ...options });
  return {
    edge,
    node,
    seen,
    url: edge.url,
    close: async () => {
      await edge.close();
      await node.close({ timeout: 1_000 });
    },
  };
}

/** An HTTP answer, read whole. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * One HTTP request with node:http on a fresh connection (no pooling: each
 * test controls its connections). `body` a string is sent as is; an object as JSON.
 */
export function http(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body = init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  const headers: Record<string, string> = {
    ...(body !== undefined && typeof init.body !== "string" ? { "content-type": "application/json" } : {}),
    ...init.headers,
  };
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text === "" ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** POST /rpc/<service>/<method> with a JSON input. */
export function rpc(url: string, target: string, input?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const [service, method] = [target.slice(0, target.lastIndexOf(".")), target.slice(target.lastIndexOf(".") + 1)];
  return http(url, `/rpc/${service}/${method}`, { method: "POST", body: input ?? {}, headers });
}

/** POST /jsonrpc with a JSON-RPC message (an object, an array, or raw text). */
export function jsonrpc(url: string, message: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return http(url, "/jsonrpc", { method: "POST", body: typeof message === "string" ? message : JSON.stringify(message), headers: { "content-type": "application/json", ...headers } });
}
