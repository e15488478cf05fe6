import { fail, onStop, tell } from "./child-side.ts";

/** A started server: the address clients dial, and how to close it. */
export interface StartedServer {
  address: string;
  close(): Promise<void>;
}

/**
 * Runs a benchmark server in this (forked) process: starts it, tells the
 * orchestrator its address, and closes it when told to stop or orphaned.
 */
export function runServer(start: () => Promise<StartedServer>): void {
  start().then((server) => {
    onStop(() => server.close());
    tell({ type: "ready", address: server.address });
  }, fail);
}
