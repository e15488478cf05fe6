import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { NodeChild, type NodeReadyMessage } from "../support/ipc-child.ts";
import type { CatalogProcessOptions, CatalogRequest } from "./catalog-process.ts";

const SCRIPT = fileURLToPath(new URL("./catalog-process.ts", import.meta.url));
/** As many processes as a 2-core machine shared with other work runs without starving the probes. */
const PROCESSES = Number(process.env.AMOEBA_CATALOG_PROCESSES ?? 16);

async function spawnNode(t: TestContext, options: CatalogProcessOptions, env: NodeJS.ProcessEnv): Promise<NodeChild<CatalogRequest>> {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, JSON.stringify(options)], { stdio: ["ignore", "ignore", "inherit", "ipc"], env });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const ready = await new Promise<NodeReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not start within 60 s`)), 60_000);
    child.on("message", (message: NodeReadyMessage) => {
      if (message?.type !== "ready") return;
      clearTimeout(timer);
      resolve(message);
    });
    void exited.then((how) => reject(new Error(`${options.name} exited (${how}) before it was ready`)));
  });
  return new NodeChild<CatalogRequest>("node", child, ready, exited);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

test(`${PROCESSES} processes: a node's 1,000 services are seen by all, and a service it adds is seen everywhere soon after`, { timeout: 240_000 }, async (t) => {
  const rendezvous = mkdtempSync(join(tmpdir(), "amoeba-catalog-procs-"));
  t.after(() => rmSync(rendezvous, { recursive: true, force: true }));
  const env = { ...process.env, AMOEBA_RENDEZVOUS_DIR: rendezvous };
  const cluster = `catalog-procs-${process.pid}`;
  const big = await spawnNode(t, { name: "big", cluster, services: 1_000 }, env);
  const others = await Promise.all(Array.from({ length: PROCESSES - 1 }, (_, i) => spawnNode(t, { name: `n${i}`, cluster, services: 1 }, env)));
  const firstSeen = await Promise.all(others.map((node) => node.request<number>({ cmd: "await", service: "inventory.service-number-999", timeoutMs: 60_000 }, 65_000)));
  assert.equal(firstSeen.length, PROCESSES - 1);
  for (const node of others.slice(0, 3)) {
    const count = await node.request<number>({ cmd: "count", member: "big" });
    assert.ok(count >= 1_000, `a node holds ${count} of big's services (or sees big neither alive nor suspect)`);
  }
  const spreads: number[] = [];
  for (let round = 0; round < 3; round++) {
    const service = `late-${round}-`;
    const seen = others.map((node) => node.request<number>({ cmd: "await", service: `${service}0`, timeoutMs: 20_000 }, 25_000));
    const servedAt = await big.request<number>({ cmd: "serve", service });
    const times = await Promise.all(seen);
    spreads.push(Math.max(...times) - servedAt);
  }
  console.log(
    `# ${PROCESSES} processes, one serving 1,000 services × 10 methods: a service it adds is seen by all after ` +
      `${median(spreads)} ms (median of 3; ${spreads.join(" / ")} ms)`,
  );
});
