/**
 * Registry writes are bound to who writes: a node registers, refreshes and
 * deregisters its own record only, and a record registered over mutual TLS
 * belongs to that certificate — another one, even from the same CA, cannot
 * replace it, refresh it, evict it under its name, or remove it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Calculator, handlers as calculatorHandlers } from "../../examples/calculator/service.ts";
import { RpcError, startNode, type Node } from "../../src/index.ts";
import { RegistryContract } from "../../src/lookup/registry/contract.ts";
import { serveRegistry } from "../../src/lookup/registry/server.ts";
import { RegistryTable } from "../../src/lookup/registry/table.ts";
import type { MemberRecord } from "../../src/lookup/types.ts";
import { hasCommand, makeCerts, recordingLogger } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";

const certs = hasCommand("openssl") ? makeCerts() : undefined;
const denied = (error: unknown): boolean => error instanceof RpcError && error.code === "PERMISSION_DENIED";

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("over mutual TLS, one certificate's record cannot be rewritten, evicted or removed by another; its owner still refreshes and removes it", async (t) => {
  if (!requireOrSkip(t, certs !== undefined, "registry identity tests need openssl to make certificates")) return;
  const pem = certs!;
  const registry = await startNode({ name: "registry", listen: "tcp://127.0.0.1:0", tls: { ...pem.node, ca: pem.ca }, logger: recordingLogger() });
  const stop = serveRegistry(registry);
  const nodes: Node[] = [];
  t.after(async () => {
    for (const node of nodes.reverse()) await node.close({ timeout: 0 });
    stop();
    await registry.close({ timeout: 0 });
  });
  const address = registry.addresses[0]!;
  const tls = { ...pem.node, ca: pem.ca };
  const real = await startNode({ name: "calc", cluster: "bound", listen: "tcp://127.0.0.1:0", registry: address, tls, clientTls: tls, logger: recordingLogger() });
  nodes.push(real);
  real.serve(Calculator, calculatorHandlers);
  const listed = async () => registry.client(RegistryContract).members({});
  const realMember = async () => (await listed()).find((m) => m.record.id === real.id);
  let record: MemberRecord | undefined;
  await until("the real node to register", async () => (record = (await realMember())?.record) !== undefined);

  // Another certificate of the same CA: trusted to connect, not to write the real node's record.
  const stranger = await startNode({ name: "stranger", clientTls: { ...pem.stranger, ca: pem.ca }, logger: recordingLogger() });
  nodes.push(stranger);
  const peer = await stranger.connect(address);
  const writes = peer.client(RegistryContract);
  const hijack = { ...record!, addresses: ["tcp://127.0.0.1:1"] };
  await assert.rejects(writes.register({ record: hijack, ttl: 3_600_000 }), denied, "the real node's record under its id");
  await assert.rejects(writes.deregister({ id: real.id }), denied, "deregistering the real node");
  // Its own record under the real node's name does not evict the real one as an "earlier incarnation".
  await writes.register({ record: { ...hijack, id: stranger.id }, ttl: 3_600_000 });
  const after = await realMember();
  assert.equal(after?.state, "alive", "the real node is still listed alive");
  assert.deepEqual(after?.record.addresses, record!.addresses, "with its own addresses");

  // The owner itself still writes: leaving deregisters it.
  await real.close({ timeout: 0 });
  nodes.splice(nodes.indexOf(real), 1);
  assert.equal((await realMember())?.state, "left", "its owner removed it");
});

test("a node writes its own record only, even without certificates", async (t) => {
  const registry = await startNode({ name: "registry", listen: "tcp://127.0.0.1:0", logger: recordingLogger() });
  const stop = serveRegistry(registry);
  const other = await startNode({ name: "other", logger: recordingLogger() });
  t.after(async () => {
    await other.close({ timeout: 0 });
    stop();
    await registry.close({ timeout: 0 });
  });
  const record: MemberRecord = { id: "someone-else", name: "calc", cluster: "c", gossip: "", addresses: ["tcp://127.0.0.1:1"], labels: {}, services: [["calculator", "1.2.0"]], load: 0 };
  // The registry's own node may write any record: it is the registry's operator.
  await registry.client(RegistryContract).register({ record, ttl: 60_000 });
  const writes = (await other.connect(registry.addresses[0]!)).client(RegistryContract);
  await assert.rejects(writes.register({ record, ttl: 60_000 }), denied);
  await assert.rejects(writes.deregister({ id: record.id }), denied);
  await writes.register({ record: { ...record, id: other.id, name: "other" }, ttl: 60_000 });
  assert.deepEqual((await writes.members({})).map((m) => `${m.record.id} ${m.state}`).sort(), [`${other.id} alive`, "someone-else alive"].sort());
});

test("the table keeps each owner's records to that owner until they expire", () => {
  const table = new RegistryTable();
  const record: MemberRecord = { id: "n1", name: "calc", cluster: "c", gossip: "", addresses: ["tcp://127.0.0.1:1"], labels: {}, services: [], load: 0 };
  assert.equal(table.register(record, 1_000, 0, "cert:a"), null);
  assert.match(table.register({ ...record, addresses: ["tcp://127.0.0.1:2"] }, 1_000, 10, "cert:b")?.refused ?? "", /registered by cert:a/);
  assert.match(String((table.deregister("n1", 10, "cert:b") as { refused?: string }).refused), /registered by cert:a/);
  assert.deepEqual(table.members()[0]?.record.addresses, ["tcp://127.0.0.1:1"], "unchanged");
  assert.equal(table.register(record, 1_000, 500, "cert:a"), null, "its owner refreshes it");
  table.sweep(2_000);
  assert.equal(table.members()[0]?.state, "dead");
  assert.equal(table.register({ ...record, addresses: ["tcp://127.0.0.1:2"] }, 1_000, 2_001, "cert:b"), null, "once expired, the id is free again");
});
