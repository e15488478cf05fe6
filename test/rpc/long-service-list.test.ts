// A node serving thousands of services: its list does not fit a HELLO (frames before the handshake is
// over are held to 256 KiB), so it follows the handshake in an ANNOUNCE — with and without a cluster key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { manyServices } from "../lookup/many-services.ts";
import { waitFor, withTeardown } from "./support.ts";

for (const keyed of [false, true]) {
  test(`8,000 services reach a peer that connects by hand${keyed ? ", with a cluster key" : ""}`, () =>
    withTeardown(async (td) => {
      const clusterKey = keyed ? "a-cluster-key-of-this-test-only-0123456789" : undefined;
      const big = await td.node({ name: "big", listen: "tcp://127.0.0.1:0", ...(clusterKey ? { clusterKey } : {}) });
      const services = manyServices(8_000, 1);
      for (const { contract, handlers } of services) big.serve(contract, handlers);
      const caller = await td.node({ name: "caller", ...(clusterKey ? { clusterKey } : {}) });
      const peer = await caller.connect(big.addresses[0]!);
      await waitFor(() => peer.services.filter(([name]) => name.startsWith("inventory.")).length === 8_000, 10_000, "the peer lists every service");
      const last = caller.client(services[7_999]!.contract) as unknown as Record<string, (input: unknown) => Promise<unknown>>;
      assert.equal(await last.method0!({}), "inventory.service-number-7999");
    }));
}
