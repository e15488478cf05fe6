/**
 * One server of the edge benchmark, in its own process: the edge (the
 * handler in its own node, or in a backend node over TCP), plain node:http,
 * or fastify — each answering POST /rpc/calculator/add with the same
 * handler and schema. Sends `{ port }` to the parent once listening; exits
 * when the parent disconnects.
 */
import { createServer } from "node:http";
import Fastify from "fastify";
import { startNode } from "../../src/index.ts";
import { startEdge } from "../../src/edge/index.ts";
import { add, AddInput, BenchCalculator, PATH } from "./contract.ts";

export type ServerKind = "http" | "fastify" | "edge" | "edge-limits" | "edge-tcp" | "backend";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const { kind, backend } = JSON.parse(process.argv[2] ?? "{}") as { kind: ServerKind; backend?: string };

async function start(): Promise<{ port?: number; address?: string }> {
  switch (kind) {
    case "http": {
      // What a hand-written service does: read, parse, check, answer.
      const server = createServer((request, response) => {
        if (request.method !== "POST" || request.url !== PATH) {
          response.writeHead(404).end();
          return;
        }
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            response.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad json"}');
            return;
          }
          const parsed = AddInput.safeParse(body);
          if (!parsed.success) {
            response.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid"}');
            return;
          }
          const text = JSON.stringify(add(parsed.data));
          response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return { port: (server.address() as { port: number }).port };
    }
    case "fastify": {
      const app = Fastify({ logger: false });
      app.post(PATH, async (request, reply) => {
        const parsed = AddInput.safeParse(request.body);
        if (!parsed.success) return reply.code(400).send({ error: "invalid" });
        return add(parsed.data);
      });
      await app.listen({ port: 0, host: "127.0.0.1" });
      return { port: (app.server.address() as { port: number }).port };
    }
    case "edge":
    case "edge-limits": {
      const node = await startNode({ name: "bench-edge", logger: QUIET });
      node.serve(BenchCalculator, { add });
      const edge = await startEdge({ node, port: 0, rateLimit: kind === "edge" ? false : { perSecond: 1e9 } });
      return { port: edge.port };
    }
    case "edge-tcp": {
      const edge = await startEdge({ port: 0, connect: [backend!], rateLimit: false, logger: QUIET });
      return { port: edge.port };
    }
    case "backend": {
      const node = await startNode({ name: "bench-backend", listen: "tcp://127.0.0.1:0", logger: QUIET });
      node.serve(BenchCalculator, { add });
      return { address: node.addresses[0]! };
    }
  }
}

process.on("disconnect", () => process.exit(0));
// Stopped by the parent: exit, so that a profile asked for with --cpu-prof is written.
process.on("SIGTERM", () => process.exit(0));
// CPU time is what separates the systems on a shared machine: the parent asks before and after the load.
process.on("message", (message) => {
  if (message === "cpu") {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system });
  }
});
start().then(
  (ready) => process.send!(ready),
  (error: unknown) => {
    console.error(`bench edge server ${kind}: ${(error as Error)?.stack ?? error}`);
    process.exit(1);
  },
);
