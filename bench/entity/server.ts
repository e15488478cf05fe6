/**
 * The servers of the entity benchmark, in one process: two nodes of one
 * cluster, each serving the plain counter and the entity counter, the entity
 * type on one directory store (the embedded default's kind) in a temp dir.
 * `{ close: "a" }` over IPC closes node a gracefully (the hand-off) and
 * answers how many keys it held.
 */
import { startNode } from "../../src/index.ts";
import { openDirectoryStore, serveEntity, type ServedEntityType } from "../../src/entity/index.ts";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { EntityCounter, PlainCounter } from "./contracts.ts";

const [cluster, dir] = process.argv.slice(2) as [string, string];
const store = await openDirectoryStore({ dir });
const nodes = await Promise.all(
  ["a", "b"].map((name) => startNode({ name: `bench-entity-${name}`, cluster, listen: "tcp://127.0.0.1:0", lookup: { membership: FAST_MEMBERSHIP_CONFIG }, drainTimeout: 5_000 })),
);
const served: ServedEntityType[] = [];
for (const node of nodes) {
  let total = 0;
  node.serve(PlainCounter, { add: ({ by }) => (total += by) });
  served.push(await serveEntity(node, EntityCounter, { store, initial: () => 0, handlers: { add: ({ by }, counter) => (counter.state += by) } }));
}
process.on("message", (message: { close?: string }) => {
  if (message.close !== "a") return;
  const keys = served[0]!.keys().length;
  void nodes[0]!.close().then(() => process.send!({ keys }));
});
process.on("disconnect", () => process.exit(0));
// Stopped by the parent: exit, so that a profile asked for with --cpu-prof is written.
process.on("SIGTERM", () => process.exit(0));
process.send!({ ready: true });
