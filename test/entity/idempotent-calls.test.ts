// Idempotency keys on a plain service: idempotentCalls answers a key it completed with the recorded
// result, on any instance sharing the store, and runs failed or keyless calls as usual.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { contract, isRpcError, RpcError, startNode, unary } from "../../src/index.ts";
import { idempotentCalls, openDirectoryStore } from "../../src/entity/index.ts";

const Payments = contract("payments", "1.0.0", {
  charge: unary({ input: z.object({ cents: z.number(), slow: z.boolean().optional(), fail: z.boolean().optional() }), output: z.object({ receipt: z.number(), node: z.string() }) }),
  refund: unary({ input: z.object({ cents: z.number() }), output: z.object({ receipt: z.number(), node: z.string() }) }),
});

test("idempotentCalls: a key runs its call once on any instance; a failed call and a keyless one run again", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "amoeba-idempotent-calls-"));
  const store = await openDirectoryStore({ dir });
  let charges = 0;
  const servers = await Promise.all(["p0", "p1"].map((name) => startNode({ name, listen: "tcp://127.0.0.1:0" })));
  const caller = await startNode({ name: "payer" });
  t.after(async () => {
    await Promise.all([caller, ...servers].map((node) => node.close()));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (const server of servers) {
    server.serve(
      Payments,
      {
        async charge({ slow, fail }, ctx) {
          if (fail) throw new RpcError("UNAVAILABLE", "the bank did not answer");
          if (slow) await sleep(300);
          return { receipt: ++charges, node: ctx.node };
        },
        refund: (_input, ctx) => ({ receipt: ++charges, node: ctx.node }),
      },
      { interceptors: [idempotentCalls(store.idempotency)] },
    );
  }
  const [p0, p1] = await Promise.all(servers.map((server) => caller.connect(server.addresses[0]!)));
  const at0 = p0!.client(Payments);
  const at1 = p1!.client(Payments);

  const first = await at0.charge({ cents: 500 }, { idempotencyKey: "order-7" });
  assert.deepEqual(await at0.charge({ cents: 500 }, { idempotencyKey: "order-7" }), first);
  assert.deepEqual(await at1.charge({ cents: 500 }, { idempotencyKey: "order-7" }), first, "another instance answers from the shared record");
  assert.equal(charges, 1);
  // The key is per method: a refund with it is a call of its own.
  assert.equal((await at1.refund({ cents: 500 }, { idempotencyKey: "order-7" })).receipt, 2);
  // No key: every call runs.
  await at0.charge({ cents: 1 });
  await at0.charge({ cents: 1 });
  assert.equal(charges, 4);
  // A failed call is not recorded: its retry runs.
  await assert.rejects(at0.charge({ cents: 9, fail: true }, { idempotencyKey: "order-8" }), /did not answer/);
  assert.equal((await at0.charge({ cents: 9 }, { idempotencyKey: "order-8" })).receipt, 5);
  // While a key's call runs, another with the key is refused unprocessed; after, it gets the result.
  const running = at0.charge({ cents: 3, slow: true }, { idempotencyKey: "order-9" });
  await sleep(100);
  await assert.rejects(at1.charge({ cents: 3, slow: true }, { idempotencyKey: "order-9" }), (error: unknown) => isRpcError(error) && error.code === "ABORTED" && error.unprocessed);
  const done = await running;
  assert.deepEqual(await at1.charge({ cents: 3 }, { idempotencyKey: "order-9" }), done);
  assert.equal(charges, 6);
});
