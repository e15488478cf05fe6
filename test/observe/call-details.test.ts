// What a node keeps of the calls it serves when it opts in (`traces: { bodies,
// logs }`), over a real TCP connection: the input and output as JSON cut to
// size, streams named, and the lines the handler logged — each still logged
// as usual; nothing of it by default, and bad settings refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { connect, contract, startNode, stream, unary, type Logger } from "../../src/index.ts";

const Greeter = contract("details.greeter", "1.0.0", {
  greet: unary({ input: z.object({ name: z.string() }), output: z.object({ text: z.string() }) }),
  count: stream({ input: z.object({ to: z.number() }), output: z.number() }),
});

function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ""} ${JSON.stringify(obj)}`);
  return { logger: { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") }, lines };
}

async function serving(traces: Record<string, number>) {
  const log = recording();
  const node = await startNode({ name: "greeter", listen: "tcp://127.0.0.1:0", logger: log.logger, traces });
  node.serve(Greeter, {
    greet: ({ name }, ctx) => {
      ctx.log.info({ who: name }, "greeting");
      ctx.log.warn({}, "second line");
      ctx.log.debug({ n: 3 }, "third line");
      ctx.log.error({ n: 4 }, "fourth line");
      return { text: `hello ${name}` };
    },
    async *count({ to }) {
      for (let i = 1; i <= to; i++) yield i;
    },
  });
  const peer = await connect(node.addresses[0]!);
  return { node, peer, log, client: peer.client(Greeter) };
}

test("with bodies and logs on, a served call keeps its input, output and the handler's lines, cut to size", async (t) => {
  const { node, peer, log, client } = await serving({ recent: 20, bodies: 40, logs: 3 });
  t.after(async () => {
    await peer.close();
    await node.close({ timeout: 500 });
  });
  assert.deepEqual(await client.greet({ name: "ada" }), { text: "hello ada" });
  await client.greet({ name: "x".repeat(100) });
  const counted: number[] = [];
  for await (const n of client.count({ to: 3 })) counted.push(n);
  assert.deepEqual(counted, [1, 2, 3]);

  const served = node.recentCalls().calls.filter((call) => call.kind === "server");
  const [streamed, long, short] = served;
  assert.equal(short!.input, '{"name":"ada"}');
  assert.equal(short!.output, '{"text":"hello ada"}');
  assert.deepEqual(
    short!.logs!.map((line) => [line.level, line.msg, line.fields]),
    [
      ["info", "greeting", '{"who":"ada"}'],
      ["warn", "second line", undefined],
      ["debug", "third line", '{"n":3}'],
    ],
    "three lines kept, the fourth past the cap",
  );
  assert.ok(short!.logs!.every((line) => Math.abs(line.at - Date.now()) < 10_000));
  assert.equal(long!.input!.length, 40);
  assert.ok(long!.input!.endsWith("…"), long!.input);
  assert.equal(streamed!.output, "(a stream)");
  assert.equal(streamed!.input, '{"to":3}');
  // The lines still reach the node's logger, the fourth included.
  assert.equal(log.lines.filter((line) => /greeting|second line|third line|fourth line/.test(line)).length, 8);
});

test("by default a node keeps no body and no log line of its calls", async (t) => {
  const { node, peer, client } = await serving({ recent: 20 });
  t.after(async () => {
    await peer.close();
    await node.close({ timeout: 500 });
  });
  await client.greet({ name: "bo" });
  const [call] = node.recentCalls().calls.filter((each) => each.kind === "server");
  assert.equal(call!.code, "OK");
  assert.deepEqual([call!.input, call!.output, call!.logs], [undefined, undefined, undefined]);
});

test("bad settings are refused with a TypeError that names them", async () => {
  await assert.rejects(startNode({ traces: { recent: 10, bodies: -1 } }), /traces\.bodies must be an integer from 0 to 65536; got -1/);
  await assert.rejects(startNode({ traces: { recent: 10, logs: 101 } }), /traces\.logs must be an integer from 0 to 100; got 101/);
});
