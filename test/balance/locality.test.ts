import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FAST_MEMBERSHIP_CONFIG } from "../../src/lookup/membership/config.ts";
import { withTeardown } from "../rpc/support.ts";
import { Probe, probeInstance } from "./fixture.ts";

let rendezvous = "";
before(async () => {
  rendezvous = await mkdtemp(join(tmpdir(), "amoeba-locality-test-"));
  process.env.AMOEBA_RENDEZVOUS_DIR = rendezvous;
});
after(() => rm(rendezvous, { recursive: true, force: true }));

const lookup = { membership: FAST_MEMBERSHIP_CONFIG };

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("calls prefer an instance on the caller's host, fall back to another host when it goes, and spread with locality off", () =>
  withTeardown(async (td) => {
    const cluster = `locality-${process.pid}`;
    const near = probeInstance("near");
    const far = probeInstance("far");
    const nearNode = await td.node({ name: "near", cluster, listen: "tcp://127.0.0.1:0", labels: { host: "host-a" }, lookup });
    const farNode = await td.node({ name: "far", cluster, listen: "tcp://127.0.0.1:0", labels: { host: "host-b" }, lookup });
    nearNode.serve(Probe, near.handlers);
    farNode.serve(Probe, far.handlers);
    const caller = await td.node({ name: "caller", cluster, labels: { host: "host-a" }, lookup });
    await until("both instances in the caller's look-up", () => caller.lookup(Probe).length === 2);

    const local = caller.client(Probe);
    for (let i = 0; i < 40; i++) assert.equal(await local.who({}), "near");
    const localities = caller.stats().services[0]!.instances.map((i) => [i.node, i.locality]).sort();
    assert.deepEqual(localities, [["far", "cluster"], ["near", "host"]]);

    const anywhere = caller.client(Probe, { balance: { locality: false, strategy: "round-robin" } });
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add(await anywhere.who({}));
    assert.deepEqual([...names].sort(), ["far", "near"]);

    await nearNode.close({ timeout: 1_000 });
    for (let i = 0; i < 10; i++) assert.equal(await local.who({}), "far", "with the near instance gone, the farther one serves");
  }));
