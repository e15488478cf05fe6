import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";
import { CliProcess, eventually, isolateRendezvous, runCli, startMember, uniqueCluster } from "./support.ts";

const CALCULATOR = "examples/calculator/service.ts";

isolateRendezvous();

interface Listed {
  members: Array<{ name: string; state: string }>;
}

/** Resolves once the process with this pid has announced itself in the cluster's local rendezvous: it has joined. */
async function joined(cluster: string, pid: number): Promise<void> {
  const dir = join(process.env.AMOEBA_RENDEZVOUS_DIR!, encodeURIComponent(cluster));
  await eventually(
    `process ${pid} in the rendezvous`,
    async () => {
      for (const name of await readdir(dir)) {
        const entry = JSON.parse(await readFile(join(dir, name), "utf8")) as { pid: number };
        if (entry.pid === pid) return true;
      }
      return undefined;
    },
    30_000,
  );
}

it("after kill -9 of one member, amoeba nodes --wait sees it suspect, then dead, within seconds", async (t) => {
  const cleanup = t.after.bind(t);
  const cluster = uniqueCluster("dead");
  const survivor = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-a"], cleanup);
  const victim = await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-b"], cleanup);

  const before = await runCli(["nodes", "--seeds", survivor.gossip!, "--cluster", cluster, "--json"], cleanup);
  assert.equal(before.code, 0, before.stderr);
  assert.deepEqual((JSON.parse(before.stdout) as Listed).members.map((m) => [m.name, m.state]), [["calc-a", "alive"], ["calc-b", "alive"]]);

  // Gossip tells a newcomer only of live members: watch while the crash happens.
  const watchers = [
    new CliProcess(["nodes", "--seeds", survivor.gossip!, "--cluster", cluster, "--json", "--wait", "14000"], cleanup),
    new CliProcess(["nodes", "--cluster", cluster, "--wait", "14000"], cleanup),
  ];
  await Promise.all(watchers.map((watcher) => joined(cluster, watcher.child.pid!)));
  victim.server.kill("SIGKILL");
  const [json, table] = await Promise.all(watchers.map((watcher) => watcher.exited(40_000)));

  assert.equal(json!.code, 0, json!.stderr);
  assert.deepEqual((JSON.parse(json!.stdout) as Listed).members.map((m) => [m.name, m.state]), [["calc-a", "alive"], ["calc-b", "dead"]]);
  assert.equal(table!.code, 0, table!.stderr);
  // What a dead member served is shown as far as its catalog was fetched before it died.
  assert.match(table!.stdout, /\ncalc-b +dead +[01] /);
  assert.match(table!.stdout, /\n2 members \(1 alive, 1 dead\) in cluster /);
});

it("a cluster key from the environment: members without it cannot join, with it they can", async (t) => {
  const cleanup = t.after.bind(t);
  const cluster = uniqueCluster("keyed");
  const keyed = { AMOEBA_CLUSTER_KEY: `key-${process.pid}` };
  await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-k"], cleanup, keyed);
  const [without, withKey] = await Promise.all([
    runCli(["ls", "--cluster", cluster, "--wait", "1000"], cleanup, undefined, { AMOEBA_CLUSTER_KEY: undefined }),
    runCli(["call", "--cluster", cluster, "calculator.add", '{"a":1,"b":2}'], cleanup, undefined, keyed),
  ]);
  assert.equal(without.code, 3, without.stderr);
  assert.match(without.stderr, /^amoeba ls: a node of cluster "cli-keyed-[\d-]+" on this machine did not answer; does the cluster need a key \(--cluster-key or \$AMOEBA_CLUSTER_KEY\)\?/);
  assert.deepEqual([withKey.code, withKey.stdout], [0, "3\n"], withKey.stderr);
});

it("a key given by --cluster-key proves the command's own connections too: ls reflects a keyed node's methods", async (t) => {
  const cleanup = t.after.bind(t);
  const cluster = uniqueCluster("keyed-flag");
  const key = `flag-key-${process.pid}`;
  await startMember([CALCULATOR, "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-f"], cleanup, { AMOEBA_CLUSTER_KEY: key });
  const listed = await runCli(["ls", "calculator", "--cluster", cluster, "--cluster-key", key], cleanup, undefined, { AMOEBA_CLUSTER_KEY: undefined });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /\badd\b.*unary/, `the methods, asked of the keyed node itself: ${listed.stdout}`);
});
