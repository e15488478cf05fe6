import { startNode } from "../../src/index.ts";
import type { Caller } from "./caller.ts";
import { Bench, benchHandlers } from "./amoeba-service.ts";

/**
 * Client and server in one process: a node serves the contract and its own
 * `node.client()` calls it. The address is unused; there is no server process.
 */
export async function openAmoebaInprocCaller(_address: string): Promise<Caller> {
  const node = await startNode({ name: "bench-inproc" });
  node.serve(Bench, benchHandlers);
  const bench = node.client(Bench);
  return {
    add: (a, b) => bench.add({ a, b }),
    echo: (text) => bench.echo(text),
    close: () => node.close({ timeout: 500 }),
  };
}
