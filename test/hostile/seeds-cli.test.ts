/**
 * Misconfigured joins are loud: `amoeba serve --seeds` whose seeds never
 * answer (unreachable, or another cluster key) warns and exits 3 unless told
 * to wait, and the seed that drops gossip sealed with another key says so.
 * Real processes, real UDP on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { describe, test } from "node:test";
import { CliProcess, isolateRendezvous, runCli, startMember, uniqueCluster } from "../cli/support.ts";

const CALCULATOR = "examples/calculator/service.ts";

isolateRendezvous();

/** A UDP port nobody answers on: bound, then closed (ICMP unreachable, or silence). */
async function deadPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe("seeds that never answer", () => {
  test("an unreachable seed: a warning naming it, then exit 3 after --seed-timeout", async (t) => {
    const seed = `udp://127.0.0.1:${await deadPort()}`;
    const started = Date.now();
    const result = await runCli(
      ["serve", CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", uniqueCluster("dead-seed"), "--seeds", seed, "--seed-timeout", "1000"],
      t.after.bind(t),
      40_000,
    );
    const elapsed = Date.now() - started;
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`warning: node \\S+ in cluster "[^"]+": no seed answered within 1000 ms \\(${seed.replace(/[.]/g, "\\.")}\\)`));
    assert.match(result.stderr, /another --cluster-key or --cluster/);
    assert.match(result.stderr, /--wait-for-seeds/);
    // The membership's own line, on the first failed attempt.
    assert.match(result.stderr, /no seed answered within \d+ ms \(udp:\/\/127\.0\.0\.1:\d+\): running alone/);
    console.log(`# serve with an unreachable seed exited 3 after ${elapsed} ms`);
  });

  test("a seed with another cluster key: the seed warns of the dropped gossip, the newcomer exits 3", async (t) => {
    const cleanup = t.after.bind(t);
    const cluster = uniqueCluster("wrong-key");
    const seed = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--cluster-key", "right-key"], cleanup);
    const result = await runCli(
      ["serve", CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--seeds", seed.gossip!, "--seed-timeout", "1000"],
      cleanup,
      40_000,
      { AMOEBA_CLUSTER_KEY: "wrong-key" },
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /no seed answered/);
    assert.match(seed.server.stderr, /gossip from udp:\/\/127\.0\.0\.1:\d+ dropped: it is sealed with another cluster key \(a wrong or missing cluster key\?\)/);
    // Once per sender, not once per datagram.
    assert.ok((seed.server.stderr.match(/dropped: it is sealed with another cluster key/g) ?? []).length <= 2, seed.server.stderr);
  });

  test("a keyless node seeding into a keyed cluster is told apart from a wrong key", async (t) => {
    const cleanup = t.after.bind(t);
    const cluster = uniqueCluster("no-key");
    const seed = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--cluster-key", "right-key"], cleanup);
    const result = await runCli(["serve", CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--seeds", seed.gossip!, "--seed-timeout", "500"], cleanup, 40_000, {
      AMOEBA_CLUSTER_KEY: undefined,
    });
    assert.equal(result.code, 3, result.stderr);
    assert.match(seed.server.stderr, /dropped: it carries no cluster key and this node has one/);
  });

  test("--wait-for-seeds warns, keeps running, and says so when a seed answers at last", async (t) => {
    const cleanup = t.after.bind(t);
    const cluster = uniqueCluster("late-seed");
    const port = await deadPort();
    const waiting = new CliProcess(
      ["serve", CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--seeds", `udp://127.0.0.1:${port}`, "--seed-timeout", "500", "--wait-for-seeds"],
      cleanup,
    );
    await waiting.waitFor(/serving .+ on tcp:/, 30_000);
    const deadline = Date.now() + 20_000;
    while (!/keeps trying its seeds/.test(waiting.stderr) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(waiting.stderr, /warning: .*no seed answered within 500 ms/);
    assert.match(waiting.stderr, /keeps trying its seeds \(--wait-for-seeds\)/);
    assert.equal(waiting.child.exitCode, null, "still running");
    // The seed comes up at the address it was given.
    await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--gossip", `udp://127.0.0.1:${port}`], cleanup);
    await waiting.waitFor(/met its cluster "[^"]+" through its seeds/, 30_000);
    waiting.kill("SIGTERM");
    await waiting.exited(15_000);
  });

  test("amoeba gateway with a --join seed that never answers: a warning, then exit 3", async (t) => {
    const seed = `udp://127.0.0.1:${await deadPort()}`;
    const a = uniqueCluster("gw-dead-a");
    const b = uniqueCluster("gw-dead-b");
    const result = await runCli(["gateway", "--join", `${a}=${seed}`, "--join", b, "--seed-timeout", "500"], t.after.bind(t), 40_000);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`amoeba gateway: warning: node \\S+ in cluster "${a}": no seed answered within 500 ms`));
    assert.match(result.stdout, /draining|stopped|in cluster/);
  });
});
