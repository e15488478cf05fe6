// peer.client() dials again when the server it was connected to restarts on the same address.
// The server runs as a real process, killed (SIGKILL) or stopped (SIGTERM) between generations.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Generation } from "./fixtures/generation-contract.ts";
import { rejection, sleep, within, withTeardown, type Teardown } from "./support.ts";

const SERVER = fileURLToPath(new URL("./fixtures/generation-server.ts", import.meta.url));

/** Starts a server process; resolves with the address it listens on. Killed at teardown if still running. */
async function startServer(td: Teardown, address: string, generation: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER, address, generation], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = once(child, "exit");
  td.add(`server process ${generation}`, child, async (c) => {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await exited;
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      if (line.startsWith("listening ")) resolve(line.slice("listening ".length));
    });
    child.on("exit", (code) => reject(new Error(`server ${generation} exited (${code}) before listening: ${stderr}`)));
  });
  return { child, address: await within(listening, 15_000, `server ${generation} starts`) };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = once(child, "exit");
  child.kill(signal);
  await within(exited, 5_000, `the server exits after ${signal}`);
}

async function restartScenario(td: Teardown, listen: string, signal: NodeJS.Signals): Promise<void> {
  const first = await startServer(td, listen, "one");
  const peer = await td.connect(first.address, { connectTimeout: 2_000 });
  const generation = peer.client(Generation);
  assert.deepEqual(await generation.which({}), { generation: "one", pid: first.child.pid });

  await stop(first.child, signal);
  await sleep(100); // the client notices the connection is gone
  const down = await rejection(generation.which({}, { timeout: 2_000 }));
  assert.equal(down.code, "UNAVAILABLE", "nobody listens: UNAVAILABLE");
  assert.equal(down.unprocessed, true, `a refused connection is safe to retry: ${down.message}`);

  const second = await startServer(td, first.address, "two");
  assert.equal(second.address, first.address);
  assert.deepEqual(await generation.which({}, { timeout: 5_000 }), { generation: "two", pid: second.child.pid }, "the same client re-dials");
  const fresh = peer.client(Generation);
  assert.equal((await fresh.which({})).generation, "two", "and so does a new client of the same peer");
}

test("peer.client() re-dials after the server is killed and restarted on the same TCP address", () =>
  withTeardown(async (td) => {
    // Pick a free port by letting the first server choose it; the second takes the same one.
    await restartScenario(td, "tcp://127.0.0.1:0", "SIGKILL");
  }));

test("peer.client() re-dials after the server is killed and restarted on the same Unix socket (stale file left behind)", () => {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-redial-"));
  return withTeardown(async (td) => {
    await restartScenario(td, `unix://${join(dir, "server.sock")}`, "SIGKILL");
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
});

test("peer.client() re-dials after a graceful restart (SIGTERM → close()) with the client still connected", () =>
  withTeardown(async (td) => {
    await restartScenario(td, "tcp://127.0.0.1:0", "SIGTERM");
  }));
