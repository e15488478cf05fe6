/**
 * Entities in one process, the whole life of a key: three nodes of one
 * cluster serve an `account` entity type on one store; calls address
 * accounts by key and go to each key's owner; a deposit with an idempotency
 * key is made twice and counted once; a reminder pays interest later; then
 * the owner of "ada" closes, her account moves to another node with its
 * state, and the reminder rings there.
 *
 *   node --import tsx examples/entities/main.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { contract, startNode, unary, type Node } from "../../src/index.ts";
import { entities, openDirectoryStore, serveEntity } from "../../src/entity/index.ts";

export const Account = contract("account", "1.0.0", {
  deposit: unary({ input: z.object({ cents: z.number().int().min(1) }), output: z.object({ balance: z.number(), node: z.string() }) }),
  balance: unary({ input: z.object({}), output: z.object({ balance: z.number(), node: z.string(), interestPaid: z.number() }) }),
  payInterestIn: unary({ input: z.object({ ms: z.number().int().min(0) }), output: z.object({}) }),
});

interface AccountState {
  balance: number;
  interestPaid: number;
}

const dir = await mkdtemp(join(tmpdir(), "amoeba-entities-example-"));
process.env.AMOEBA_RENDEZVOUS_DIR ??= join(dir, "rendezvous");
// One store for the three nodes: they share this process, so one directory store can be theirs.
// Nodes in processes or machines of their own would share PostgreSQL, Redis or NATS JetStream KV.
const store = await openDirectoryStore({ dir: join(dir, "store") });
const cluster = `bank-${process.pid}`;
const nodes: Node[] = [];
try {
  for (const name of ["bank-1", "bank-2", "bank-3"]) {
    const node = await startNode({ name, cluster, listen: "tcp://127.0.0.1:0", lookup: {} });
    await serveEntity(node, Account, {
      store,
      initial: (): AccountState => ({ balance: 0, interestPaid: 0 }),
      readOnly: ["balance"],
      handlers: {
        deposit({ cents }, account, ctx) {
          account.state = { ...account.state, balance: account.state.balance + cents };
          return { balance: account.state.balance, node: ctx.node };
        },
        balance: (_input, account, ctx) => ({ ...account.state, node: ctx.node }),
        payInterestIn({ ms }, account) {
          account.remind("interest", ms);
          return {};
        },
      },
      reminders: {
        // A durable timer: it rings on whichever node owns the account when it is due.
        interest(account) {
          const interest = Math.round(account.state.balance * 0.01);
          account.state = { balance: account.state.balance + interest, interestPaid: account.state.interestPaid + interest };
          console.log(`  interest: ${interest} cents paid to ${account.key} on ${node.name}`);
        },
      },
    });
    nodes.push(node);
  }
  // Wait until every node sees the three: then every caller picks the same owner for a key.
  for (const until = Date.now() + 10_000; !nodes.every((node) => node.lookup(Account).length === 3); await sleep(20)) {
    if (Date.now() > until) throw new Error("the nodes did not find each other within 10 s");
  }
  console.log(`three nodes serve account: ${nodes.map((node) => node.name).join(", ")}`);

  const accounts = entities(nodes[2]!, Account);
  for (const key of ["ada", "bo", "cy"]) {
    const { node } = await accounts.for(key).deposit({ cents: 10_000 });
    console.log(`deposit 10000 cents to ${key}: ran on ${node}, its owner`);
  }
  // The same deposit twice, as a retry would send it: its idempotency key makes it count once.
  const ada = accounts.for("ada");
  await ada.deposit({ cents: 500 }, { idempotencyKey: "transfer-77" });
  const again = await ada.deposit({ cents: 500 }, { idempotencyKey: "transfer-77" });
  console.log(`deposit 500 cents to ada twice with idempotency key transfer-77: balance ${again.balance} (counted once)`);

  await ada.payInterestIn({ ms: 1_500 });
  const owner = nodes.find((node) => node.name === again.node)!;
  console.log(`interest for ada due in 1500 ms; now ${owner.name}, her owner, closes`);
  await owner.close();
  const survivors = nodes.filter((node) => node !== owner);
  for (const until = Date.now() + 10_000; !survivors.every((node) => node.lookup(Account).length === 2); await sleep(20)) {
    if (Date.now() > until) throw new Error("the others did not see the node leave within 10 s");
  }
  const moved = await entities(survivors[0]!, Account).for("ada").balance({});
  console.log(`ada's account moved to ${moved.node} with its state: balance ${moved.balance}`);
  // The reminder was saved with her state: it rings on her new owner.
  for (const until = Date.now() + 10_000; ; await sleep(100)) {
    const now = await entities(survivors[0]!, Account).for("ada").balance({});
    if (now.interestPaid > 0) {
      console.log(`ada after interest: balance ${now.balance} on ${now.node}`);
      break;
    }
    if (Date.now() > until) throw new Error("the interest reminder did not ring within 10 s");
  }
} finally {
  await Promise.all(nodes.map((node) => node.close()));
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
