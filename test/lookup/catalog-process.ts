/**
 * One node in its own process, for the catalog tests across processes.
 * Started with its options as JSON in argv[2]; serves `services` services of
 * 10 methods each, says `{ type: "ready", … }` over IPC, then answers:
 * `serve` (one more service; the time it was served), `await` (the time this
 * node's look-up first held a service) and `count` (services a member is seen
 * to serve). Exits when the parent goes away.
 */
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/index.ts";
import { startNode } from "../../src/index.ts";
import { runIpcChild } from "../support/ipc-child.ts";
import { manyServices } from "./many-services.ts";

/** What the parent passes in argv[2]. */
export interface CatalogProcessOptions {
  name: string;
  cluster: string;
  services: number;
  /** "gossip" (default) or a registry address. */
  registry?: string;
}

export type CatalogRequest = { cmd: "serve"; service: string } | { cmd: "await"; service: string; timeoutMs: number } | { cmd: "count"; member: string };

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const options = JSON.parse(process.argv[2] ?? "{}") as CatalogProcessOptions;
process.on("disconnect", () => process.exit(0));

runIpcChild("catalog process", false, async () => {
  const node = await startNode({
    name: options.name,
    cluster: options.cluster,
    listen: "tcp://127.0.0.1:0",
    logger: silent,
    lookup: { membership: FAST_MEMBERSHIP_CONFIG },
    ...(options.registry ? { registry: options.registry } : {}),
  });
  for (const { contract, handlers } of manyServices(options.services, 10)) node.serve(contract, handlers);
  const answer = async (request: CatalogRequest): Promise<unknown> => {
    switch (request.cmd) {
      case "serve": {
        const [one] = manyServices(1, 2, request.service);
        node.serve(one!.contract, one!.handlers);
        return Date.now();
      }
      case "await": {
        // A watch, not polling: the moment the look-up holds it, with no CPU spent waiting.
        for await (const change of node.watch(request.service, { signal: AbortSignal.timeout(request.timeoutMs) })) {
          if (change.type === "added") return Date.now();
        }
        throw new Error(`${request.service} not seen within ${request.timeoutMs} ms`);
      }
      case "count":
        // A suspect member's catalog is held and used as an alive one's: on a loaded machine a probe may be late.
        return node.members().find((m) => m.record.name === request.member && (m.state === "alive" || m.state === "suspect"))?.record.services.length ?? 0;
    }
  };
  process.on("message", (message: { seq?: number; request?: CatalogRequest }) => {
    if (typeof message?.seq !== "number" || !message.request) return;
    answer(message.request).then(
      (result) => process.send?.({ seq: message.seq, ok: true, result }),
      (error: unknown) => process.send?.({ seq: message.seq, ok: false, error: String((error as Error)?.message ?? error) }),
    );
  });
  process.send?.({ type: "ready", id: node.id, name: node.name, pid: process.pid, gossip: node.gossipAddress, addresses: node.addresses });
});
