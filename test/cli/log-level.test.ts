import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONCURRENCY, CliProcess, eventually, isolateRendezvous, runCli, uniqueCluster } from "./support.ts";

isolateRendezvous();

const FIXTURE = "test/cli/fixtures/logging.ts";

/** Serves the fixture with `args` and `env`, makes one call, and returns the handler's log lines once its warn line is out. */
async function logsOfOneCall(args: readonly string[], env: Record<string, string | undefined>, cleanup: (fn: () => void) => void): Promise<string[]> {
  const server = new CliProcess(["serve", FIXTURE, "--listen", "tcp://127.0.0.1:0", ...args], cleanup, env);
  const address = (await server.waitFor(/serving .+ on (\S+)\n/))[1]!;
  const call = await runCli(["call", address, "test.greeter.greet", '{"name":"Ada"}'], cleanup);
  assert.deepEqual([call.code, call.stdout], [0, '"hello Ada"\n'], call.stderr);
  // The warn line is written last and at every level but error and silent.
  return eventually(
    "the handler's log lines",
    async () => {
      const lines = server.stderr.split("\n").filter((line) => line.includes("greet: "));
      return lines.some((line) => line.includes("warn line")) ? lines : undefined;
    },
    10_000,
  );
}

function levels(lines: string[]): string[] {
  return lines.map((line) => (JSON.parse(line) as { level: string }).level);
}

describe("amoeba serve --log-level", { concurrency: CONCURRENCY }, () => {
  it("by default, a handler's ctx.log.info reaches stderr as a JSON line naming the node and the method; debug does not", async (t) => {
    const lines = await logsOfOneCall([], { AMOEBA_LOG_LEVEL: undefined }, t.after.bind(t));
    assert.deepEqual(levels(lines), ["info", "warn"]);
    const info = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(info.msg, "greet: info line");
    assert.equal(info.name, "Ada");
    assert.deepEqual([info.service, info.method, typeof info.node], ["test.greeter", "greet", "string"]);
  });

  it("$AMOEBA_LOG_LEVEL=debug adds debug lines", async (t) => {
    const lines = await logsOfOneCall([], { AMOEBA_LOG_LEVEL: "debug" }, t.after.bind(t));
    assert.deepEqual(levels(lines), ["debug", "info", "warn"]);
  });

  it("--log-level wins over $AMOEBA_LOG_LEVEL", async (t) => {
    const lines = await logsOfOneCall(["--log-level", "WARN"], { AMOEBA_LOG_LEVEL: "debug" }, t.after.bind(t));
    assert.deepEqual(levels(lines), ["warn"]);
  });

  it("an unknown level is a usage error that lists the levels, for every command that runs a node", async (t) => {
    const commands: Record<string, string[]> = {
      serve: [FIXTURE],
      edge: ["--connect", "tcp://127.0.0.1:1"],
      gateway: ["--join", "a=udp://127.0.0.1:1", "--join", "b=udp://127.0.0.1:2"],
      registry: [],
    };
    for (const [command, args] of Object.entries(commands)) {
      const result = await runCli([command, ...args, "--log-level", "loud"], t.after.bind(t));
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^amoeba ${command}: --log-level must be one of debug, info, warn, error, silent, got "loud"`));
    }
    const result = await runCli(["registry", "--listen", "tcp://127.0.0.1:0"], t.after.bind(t), undefined, { AMOEBA_LOG_LEVEL: "chatty" });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /\$AMOEBA_LOG_LEVEL must be one of/);
  });
  it("registry and gateway: the node's own warnings show by default and not at --log-level error", async (t) => {
    const cleanup = t.after.bind(t);
    /** Calls `method` on `address` with metadata only a proved caller may send: the node drops it with a warning line. */
    const provoke = async (address: string, method: string): Promise<void> => {
      const call = await runCli(["call", address, method, "{}", "--meta", "amoeba-caller=someone"], cleanup);
      assert.equal(call.code, 0, call.stderr);
    };
    const warned = (server: CliProcess): boolean => server.stderr.split("\n").some((line) => line.includes('"level":"warn"') && line.includes("dropped amoeba-caller metadata"));
    const starts: Record<string, (level: string[]) => Promise<{ server: CliProcess; address: string; method: string }>> = {
      registry: async (level) => {
        const server = new CliProcess(["registry", "--listen", "tcp://127.0.0.1:0", ...level], cleanup);
        return { server, address: (await server.waitFor(/listening on (tcp:\/\/\S+)\n/))[1]!, method: "amoeba.registry.hello" };
      },
      gateway: async (level) => {
        const [a, b] = [uniqueCluster("log-a"), uniqueCluster("log-b")];
        const server = new CliProcess(["gateway", "--join", a, "--join", b, ...level], cleanup);
        return { server, address: (await server.waitFor(new RegExp(`in cluster ${a}, gossip on \\S+, calls on (tcp://\\S+)\n`)))[1]!, method: "amoeba.gateway.routes" };
      },
    };
    for (const [command, start] of Object.entries(starts)) {
      const loud = await start([]);
      await provoke(loud.address, loud.method);
      await eventually(`${command} to warn at the default level`, async () => (warned(loud.server) ? true : undefined), 10_000);
      const quiet = await start(["--log-level", "error"]);
      await provoke(quiet.address, quiet.method);
      // The warning is written as the call is served: by the time the call returned it would be out.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(warned(quiet.server), false, `${command} --log-level error still warned: ${quiet.server.stderr}`);
    }
  });
});
