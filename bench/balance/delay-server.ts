import { setTimeout as sleep } from "node:timers/promises";
import { startNode } from "../../src/index.ts";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { Spread } from "./contract.ts";

/** What the orchestrator passes to one instance. */
export interface DelayServerArgument {
  name: string;
  /** How long each `work` call waits before answering, ms. */
  delayMs: number;
}

/**
 * One instance of the balancing contract: an Amoeba node on 127.0.0.1 TCP,
 * default settings, whose `work` handler waits a fixed delay (a timer, so the
 * process stays idle meanwhile) and answers with the instance's name.
 */
runServer(async () => {
  const { name, delayMs } = childArgument<DelayServerArgument>();
  const node = await startNode({ name, listen: "tcp://127.0.0.1:0" });
  node.serve(Spread, {
    work: async () => {
      await sleep(delayMs);
      return name;
    },
    who: () => name,
  });
  return { address: node.addresses[0]!, close: () => node.close({ timeout: 500 }) };
});
