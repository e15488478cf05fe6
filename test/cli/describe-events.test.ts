// The CLI beside its peers (grpcurl describe, nats pub/sub): `describe`
// prints readable types, `publish` and `subscribe` carry events to and from
// a real node, mistyped commands, services and methods get "did you mean",
// colour follows the terminal, NO_COLOR and --no-color, and completion
// scripts complete in a real bash.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { readDuration } from "../../src/cli/duration.ts";
import { editDistance, nearest } from "../../src/cli/suggest.ts";
import { startNode, type Node } from "../../src/index.ts";
import { CliProcess, isolateRendezvous, runCli, startMember, uniqueCluster } from "./support.ts";

isolateRendezvous();

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("amoeba describe, publish and subscribe", () => {
  const cluster = uniqueCluster("describe");
  const cleanups: Array<() => void | Promise<void>> = [];
  let address = "";
  let listener: Node;
  const received: Array<{ payload: unknown; from: string }> = [];
  before(async () => {
    ({ address } = await startMember(["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-d"], (fn) => cleanups.push(fn)));
    listener = await startNode({ name: "listener", cluster, listen: "tcp://127.0.0.1:0", logger: silent });
    cleanups.push(() => listener.close({ timeout: 1_000 }));
    listener.subscribe("price.changed", (payload, info) => void received.push({ payload, from: info.from }));
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("describes a service's methods with types as TypeScript reads them", async (t) => {
    const result = await runCli(["describe", "--cluster", cluster, "calculator"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^calculator@1\.2\.0 — 3 methods/);
    assert.match(result.stdout, /\ncalculator\.add  unary, idempotent, public\n  The sum of a and b\.\n  input:\n    \{\n      a: number;\n      b: number;\n    \}\n  output:\n    number\n  example input: \{"a":1,"b":1\}/);
    assert.match(result.stdout, /calculator\.count  server-stream, public\n  .*\n  input:\n    \{\n      to: number;  \/\/ integer, 0 to 1000000\n    \}\n  output \(each item\):/);
    assert.doesNotMatch(result.stdout, /9007199254740991|"type"/);
    assert.doesNotMatch(result.stdout, /\x1b\[/, "no colour into a pipe");
  });

  it("describes one method at an address, and as JSON", async (t) => {
    const one = await runCli(["describe", address, "calculator.add"], t.after.bind(t));
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^calculator@1\.2\.0/);
    assert.doesNotMatch(one.stdout, /calculator\.count/);
    const json = await runCli(["describe", address, "calculator", "--json"], t.after.bind(t));
    const parsed = JSON.parse(json.stdout) as { name: string; methods: Array<{ name: string; input: unknown }> };
    assert.equal(parsed.name, "calculator");
    assert.deepEqual(parsed.methods.map((m) => m.name).sort(), ["add", "count", "sleep"]);
  });

  it("answers mistyped commands, services and methods with the nearest name", async (t) => {
    const command = await runCli(["descrbe", address, "calculator"], t.after.bind(t));
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command "descrbe"; did you mean "describe"\?/);
    const service = await runCli(["describe", "--cluster", cluster, "calculater"], t.after.bind(t));
    assert.equal(service.code, 1);
    assert.match(service.stderr, /serves calculater; did you mean "calculator"\?/);
    const method = await runCli(["describe", address, "calculator.ad"], t.after.bind(t));
    assert.equal(method.code, 1);
    assert.match(method.stderr, /has no method ad; did you mean "add"\?; its methods: add, count, sleep/);
    const call = await runCli(["call", address, "calculator.ad", '{"a":1,"b":2}'], t.after.bind(t));
    assert.equal(call.code, 1);
    assert.match(call.stderr, /^ERROR (NOT_FOUND|UNIMPLEMENTED): .*\n  hint: did you mean "add"\?$/m);
    const callService = await runCli(["call", "--cluster", cluster, "calculatr.add", "{}"], t.after.bind(t));
    assert.match(callService.stderr, /no node serves calculatr there; did you mean "calculator"\?/);
  });

  it("publishes an event that a subscribed node receives", async (t) => {
    const result = await runCli(["publish", "--cluster", cluster, "price.changed", '{"sku":"tea","price":4.2}'], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^published on price\.changed through \d+ connected nodes? \(/);
    const until = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(received.length, 1, "the listener got the event once");
    assert.deepEqual(received[0]!.payload, { sku: "tea", price: 4.2 });
    assert.match(received[0]!.from, /^amoeba-publish-/);
  });

  it("subscribes and prints what a node publishes, then stops after --count", async (t) => {
    const sub = new CliProcess(["subscribe", "--cluster", cluster, "stock.low", "--count", "2", "--json"], t.after.bind(t));
    // Until the subscriber has connected, nothing reaches it: publish until it has seen two events.
    const until = Date.now() + 20_000;
    let sent = 0;
    while (sub.child.exitCode === null && Date.now() < until) {
      listener.publish("stock.low", { sku: "tea", left: ++sent });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const finished = await sub.exited(5_000);
    assert.equal(finished.code, 0, finished.stderr);
    const events = finished.stdout.trim().split("\n").map((line) => JSON.parse(line) as { topic: string; from: string; payload: { left: number } });
    assert.equal(events.length, 2);
    assert.ok(events.every((event) => event.topic === "stock.low" && event.from === "listener"));
    assert.ok(events[1]!.payload.left > events[0]!.payload.left, "in the order published");
  });

  it("colours errors on a terminal's request, and never with NO_COLOR or --no-color", async (t) => {
    const coloured = await runCli(["call", address, "calculator.add", '{"a":"x"}'], t.after.bind(t), undefined, { FORCE_COLOR: "1", NO_COLOR: undefined });
    assert.match(coloured.stderr, /\x1b\[31mERROR INVALID_ARGUMENT\x1b\[39m/);
    const noColor = await runCli(["call", address, "calculator.add", '{"a":"x"}'], t.after.bind(t), undefined, { FORCE_COLOR: "1", NO_COLOR: "1" });
    assert.doesNotMatch(noColor.stderr, /\x1b\[/);
    const flag = await runCli(["--no-color", "call", address, "calculator.add", '{"a":"x"}'], t.after.bind(t), undefined, { FORCE_COLOR: "1", NO_COLOR: undefined });
    assert.doesNotMatch(flag.stderr, /\x1b\[/);
    assert.match(flag.stderr, /^ERROR INVALID_ARGUMENT/m);
  });

  it("takes one duration syntax everywhere: 1s, 500ms, and bare numbers as ms", async (t) => {
    for (const timeout of ["1s", "1500ms", "2000"]) {
      const result = await runCli(["call", address, "calculator.add", '{"a":1,"b":2}', "--timeout", timeout], t.after.bind(t));
      assert.equal(result.code, 0, `${timeout}: ${result.stderr}`);
    }
    const slow = await runCli(["call", address, "calculator.sleep", '{"ms":2000}', "--timeout", "300ms"], t.after.bind(t));
    assert.equal(slow.code, 1);
    assert.match(slow.stderr, /DEADLINE_EXCEEDED/);
  });
});

describe("amoeba completion", () => {
  it("prints a bash script that completes commands and options in a real bash", async (t) => {
    const result = await runCli(["completion", "bash"], t.after.bind(t));
    assert.equal(result.code, 0, result.stderr);
    const complete = (words: string[]): string => {
      const script = `${result.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _amoeba; echo "\${COMPREPLY[@]}"`;
      const run = spawnSync("bash", ["-c", script], { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      return run.stdout.trim();
    };
    assert.equal(complete(["amoeba", "desc"]), "describe");
    assert.deepEqual(complete(["amoeba", "top", "--on"]).split(" "), ["--once"]);
    assert.ok(complete(["amoeba", "call", "--"]).split(" ").includes("--timeout"));
  });

  it("prints zsh and fish scripts that their shells parse, and refuses other shells", async (t) => {
    for (const shell of ["zsh", "fish"] as const) {
      const result = await runCli(["completion", shell], t.after.bind(t));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /describe/);
      const check = spawnSync(shell, shell === "fish" ? ["--no-execute", "-c", result.stdout] : ["-n", "-c", result.stdout], { encoding: "utf8" });
      if (check.error === undefined) assert.equal(check.status, 0, `${shell}: ${check.stderr}`);
      else t.diagnostic(`${shell} is not installed here: its script was not parsed`);
    }
    const bad = await runCli(["completion", "bsh"], t.after.bind(t));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /did you mean "bash"\?/);
  });
});

describe("the CLI's small parts", () => {
  it("reads times as one syntax", () => {
    assert.equal(readDuration("500"), 500);
    assert.equal(readDuration("500ms"), 500);
    assert.equal(readDuration("1s"), 1_000);
    assert.equal(readDuration("1.5s"), 1_500);
    assert.equal(readDuration("2m"), 120_000);
    assert.equal(readDuration("1h"), 3_600_000);
    for (const bad of ["", "s", "-1", "1 s", "1sec", "1e3"]) assert.equal(readDuration(bad), undefined, bad);
  });

  it("finds the nearest name, and none when nothing is near", () => {
    assert.equal(editDistance("calculater", "calculator"), 1);
    assert.equal(editDistance("ls", "sl"), 1, "a swap is one edit");
    assert.equal(nearest("calculater", ["catalog", "calculator"]), "calculator");
    assert.equal(nearest("dash", ["dashboard", "describe"]), "dashboard", "a prefix");
    assert.equal(nearest("zzz", ["serve", "call"]), undefined);
  });
});
