// The NATS micro protocol: NATS's own discovery ($SRV.PING, $SRV.INFO,
// $SRV.STATS) lists Amoeba services, and a plain NATS request with JSON calls
// a unary method.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect as natsConnect, headers, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { contract, RpcError, startNode, stream, unary, type Node } from "../../src/index.ts";
import { MICRO_TYPES, nats, type MicroInfo, type MicroIdentity, type MicroStats } from "../../src/nats/index.ts";
import { recordingLogger, rejection } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { natsMissing, startNatsServer, type NatsServer } from "../support/nats-server.ts";

const Calc = contract("micro.calc", "1.4.0", {
  add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number(), idempotent: true }),
  fail: unary({ input: z.object({ code: z.string() }), output: z.null() }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
});

/** Reports what reached the handler: its metadata and what remained of its deadline. */
const Seen = contract("micro.seen", "1.0.0", {
  seen: unary({ input: z.object({}), output: z.object({ meta: z.record(z.string(), z.string()), remaining: z.number().nullable() }), idempotent: true }),
});

const json = (value: unknown): string => JSON.stringify(value);

describe("NATS micro protocol", () => {
  let server: NatsServer | undefined;
  let node: Node | undefined;
  let raw: NatsConnection | undefined;

  before(async () => {
    if (natsMissing) return;
    server = await startNatsServer();
    node = await startNode({ name: "calc-node", cluster: "micro", engine: nats({ servers: [server.url] }), logger: recordingLogger() });
    node.serve(Calc, {
      add: ({ a, b }) => a + b,
      fail: ({ code }) => {
        throw new RpcError(code as RpcError["code"], `failed with ${code}`);
      },
      async *count({ to }) {
        for (let i = 1; i <= to; i++) yield i;
      },
    });
    node.serve(Seen, { seen: (_input, ctx) => ({ meta: { ...ctx.meta }, remaining: ctx.deadline === undefined ? null : ctx.deadline - Date.now() }) });
    raw = await natsConnect({ servers: [server.url] });
  });

  after(async () => {
    await raw?.close();
    await node?.close({ timeout: 1_000 });
    await server?.stop();
  });

  async function gather<T>(subject: string): Promise<T[]> {
    const out: T[] = [];
    const replies = await raw!.requestMany(subject, "", { strategy: "stall", stall: 200, maxWait: 3_000 });
    for await (const reply of replies) if (reply.data.length > 0) out.push(reply.json<T>());
    return out;
  }

  test("$SRV.INFO lists the service, its unary methods as endpoints in queue group q, and where it runs", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const infos = await gather<MicroInfo>("$SRV.INFO");
    const info = infos.find((entry) => entry.metadata["amoeba.service"] === "micro.calc");
    assert.ok(info, `INFO lists micro.calc (got ${json(infos.map((i) => i.name))})`);
    assert.equal(info.type, MICRO_TYPES.info);
    assert.equal(info.type, "io.nats.micro.v1.info_response");
    assert.equal(info.name, "micro_calc", "a micro name has no dots");
    assert.equal(info.version, "1.4.0");
    assert.match(info.id, /^[0-9a-f]{32}$/);
    assert.equal(info.metadata["amoeba.node_name"], "calc-node");
    assert.equal(info.metadata["amoeba.node"], node!.id);
    assert.equal(info.metadata["amoeba.cluster"], "micro");
    assert.equal(typeof info.description, "string");
    assert.deepEqual(
      info.endpoints.map((e) => [e.name, e.subject, e.queue_group]).sort(),
      [
        ["add", "amoeba.svc.micro.calc.v1.add", "q"],
        ["fail", "amoeba.svc.micro.calc.v1.fail", "q"],
      ],
      "unary methods only: a stream cannot be one plain request",
    );
    assert.ok(!infos.some((entry) => entry.metadata["amoeba.service"]?.startsWith("amoeba.")), "Amoeba's own services are not listed");

    const byName = await gather<MicroInfo>("$SRV.INFO.micro_calc");
    assert.deepEqual(byName.map((entry) => entry.id), [info.id]);
    const byId = await gather<MicroInfo>(`$SRV.INFO.micro_calc.${info.id}`);
    assert.deepEqual(byId.map((entry) => entry.id), [info.id]);

    const pings = await gather<MicroIdentity>("$SRV.PING.micro_calc");
    assert.equal(pings.length, 1);
    assert.equal(pings[0]!.type, "io.nats.micro.v1.ping_response");
    assert.deepEqual(Object.keys(pings[0]!).sort(), ["id", "metadata", "name", "type", "version"]);
  });

  test("a plain NATS request with JSON calls a method and gets JSON back", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const reply = await raw!.request("amoeba.svc.micro.calc.v1.add", json({ a: 20, b: 22 }), { timeout: 5_000 });
    assert.equal(reply.headers?.get("Nats-Service-Error-Code") ?? "", "", "no error header on success");
    assert.equal(reply.json<number>(), 42);
  });

  test("errors carry Nats-Service-Error and Nats-Service-Error-Code, and STATS counts requests and errors", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const before = (await gather<MicroStats>("$SRV.STATS.micro_calc"))[0]!.endpoints.find((e) => e.name === "add")!;

    const invalid = await raw!.request("amoeba.svc.micro.calc.v1.add", json({ a: "x" }), { timeout: 5_000 });
    assert.equal(invalid.headers?.get("Nats-Service-Error-Code"), "400");
    assert.match(invalid.headers?.get("Nats-Service-Error") ?? "", /add/);
    assert.equal(invalid.headers?.get("Amoeba-Status"), "INVALID_ARGUMENT");
    assert.equal(invalid.json<{ error: { code: string } }>().error.code, "INVALID_ARGUMENT");

    const notJson = await raw!.request("amoeba.svc.micro.calc.v1.add", "{not json", { timeout: 5_000 });
    assert.equal(notJson.headers?.get("Nats-Service-Error-Code"), "400");
    assert.match(notJson.headers?.get("Nats-Service-Error") ?? "", /not JSON/);

    const thrown = await raw!.request("amoeba.svc.micro.calc.v1.fail", json({ code: "NOT_FOUND" }), { timeout: 5_000 });
    assert.equal(thrown.headers?.get("Nats-Service-Error-Code"), "404");
    assert.equal(thrown.headers?.get("Nats-Service-Error"), "failed with NOT_FOUND");

    const ok = await raw!.request("amoeba.svc.micro.calc.v1.add", json({ a: 1, b: 1 }), { timeout: 5_000 });
    assert.equal(ok.json<number>(), 2);

    const stats = (await gather<MicroStats>("$SRV.STATS.micro_calc"))[0]!;
    assert.equal(stats.type, "io.nats.micro.v1.stats_response");
    assert.ok(!Number.isNaN(Date.parse(stats.started)), "started is an ISO date");
    const add = stats.endpoints.find((e) => e.name === "add")!;
    assert.equal(add.num_requests - before.num_requests, 3, "three requests to add since");
    assert.equal(add.num_errors - before.num_errors, 2, "two of them failed");
    assert.match(add.last_error, /INVALID_ARGUMENT/);
    assert.ok(add.processing_time > 0 && add.average_processing_time > 0);
    const fail = stats.endpoints.find((e) => e.name === "fail")!;
    assert.ok(fail.num_errors >= 1);
  });

  test("request headers become call metadata, and Amoeba-Timeout sets the deadline", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    const h = headers();
    h.set("Amoeba-Timeout", "5000");
    h.set("traceparent", "00-abc-def-01");
    const reply = await raw!.request("amoeba.svc.micro.calc.v1.add", json({ a: 2, b: 3 }), { timeout: 5_000, headers: h });
    assert.equal(reply.json<number>(), 5);
    // What reached the handler: the header as metadata, and a deadline of at most those 5000 ms.
    h.set("tenant", "t-7");
    const seen = (await raw!.request("amoeba.svc.micro.seen.v1.seen", json({}), { timeout: 5_000, headers: h })).json<{ meta: Record<string, string>; remaining: number | null }>();
    assert.equal(seen.meta.traceparent, "00-abc-def-01");
    assert.equal(seen.meta.tenant, "t-7");
    assert.equal(seen.meta["Amoeba-Timeout"], undefined, "Amoeba's own header is not metadata");
    assert.ok(seen.remaining !== null && seen.remaining > 0 && seen.remaining <= 5_000, `the handler had ${seen.remaining} ms of the 5000 the header gave`);
    h.set("Amoeba-Timeout", "60000");
    const longer = (await raw!.request("amoeba.svc.micro.seen.v1.seen", json({}), { timeout: 5_000, headers: h })).json<{ remaining: number | null }>();
    assert.ok(longer.remaining !== null && longer.remaining > 5_000 && longer.remaining <= 60_000, `Amoeba-Timeout 60000 gave the handler ${longer.remaining} ms`);
  });

  test("a service nobody serves fails at once: NATS's no-responders for a plain request, UNAVAILABLE for an Amoeba call", async (t) => {
    if (!requireOrSkip(t, !natsMissing, natsMissing ?? "")) return;
    await assert.rejects(raw!.request("amoeba.svc.nobody.v1.here", json({}), { timeout: 30_000 }), (error: Error) => {
      const cause = (error as { isNoResponders?: () => boolean }).isNoResponders?.() ?? /no responders/i.test(`${error.message} ${(error.cause as Error)?.message}`);
      assert.ok(cause, `no responders, not a timeout: ${error.message}`);
      return true;
    });
    const Nobody = contract("micro.nobody", "1.0.0", { here: unary({ input: z.object({}), output: z.null() }) });
    const error = await rejection(node!.client(Nobody).here({}, { timeout: 30_000 }));
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(error.unprocessed, true);
  });
});
