// The NATS JetStream KV store through the conformance suite, on a nats-server of its own (-js, a temporary store directory).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { openNatsKvStore } from "../../src/entity/index.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";
import { runStoreConformance } from "./store-suite.ts";

let server: NatsServer | undefined;
const dir = mkdtempSync(join(tmpdir(), "amoeba-entity-nats-"));
before(async () => {
  if (natsMissing === undefined) server = await startNatsServer({ args: ["-js", "-sd", dir] });
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

runStoreConformance(
  "nats-kv",
  async () => {
    const bucket = `amoeba_test_${++n}`;
    const a = await openNatsKvStore({ servers: server!.url, bucket });
    const b = await openNatsKvStore({ servers: server!.url, bucket });
    return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
  },
  { missing: natsMissing },
);
