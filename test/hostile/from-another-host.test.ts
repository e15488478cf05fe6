/**
 * The attacks of test/hostile, repeated from another host against nodes
 * started with the CLI as docs/security.md says to start them for
 * production: the cluster key in $AMOEBA_CLUSTER_KEY, or mutual TLS with a
 * policy file. Three test hosts, network namespaces on one bridge
 * (test/lookup/faults/netns.ts, 10.213.0.0/24): `server` (the nodes under
 * attack, the registry, the gateway), `member` (the clusters' own nodes and
 * a well-behaved caller) and `attacker` (test/hostile/host-process.ts
 * speaking raw frames, and the CLI). Their addresses exist only inside these
 * namespaces, which have no route anywhere else.
 *
 * Each attack ends in assertions that fail, saying what got through, if it
 * succeeded:
 * - the wire, against `amoeba serve` with the cluster key and the default
 *   limits (docs/protocol.md), while a well-behaved caller's latency is
 *   measured as test/hostile/limits.test.ts measures it: 256 withheld 4 MiB
 *   CALLs from a member holding the key (maxConnectionsPerAddress,
 *   maxPendingBytesPerAddress, and frameTimeout for the frames still held); a flood of
 *   4,360 connections from 34 addresses (maxConnectionsPerAddress,
 *   maxConnections); an outsider's withheld CALLs, 4 MiB (refused on the
 *   declared length before the handshake is over) and 255 KiB from 33
 *   addresses (maxPendingBytes, then the handshake timeout); CALLs with
 *   300,000 metadata entries, from a member and in place of a PROOF;
 * - anonymous `amoeba call`: refused at the handshake, Amoeba's own services
 *   and methods that do not exist included, and none of it served;
 * - the registry (`amoeba registry` over mutual TLS: the CLI gives a registry
 *   no cluster key): without a certificate nothing is read or written; a
 *   certificate of the same CA claiming calc-1's id cannot replace, refresh
 *   or remove its record; look-ups reach only calc-1;
 * - a gateway with the cluster key: an outsider without it that gossips into
 *   one cluster with a fake calculator gets none of the other's calls;
 * - a wrong cluster key, or a seed that never answers: a warning, exit 3.
 *
 * Protected mode (a command with no credentials refuses to listen on an
 * address like these, exit 2) is tested by test/cli/protected-mode.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CliProcess, CONCURRENCY, isolateRendezvous, runCli, type Cleanup, type Finished } from "../cli/support.ts";
import { hasCommand } from "../conformance/helpers.ts";
import { TestNetwork, unavailableReason, type Host } from "../lookup/faults/netns.ts";
import { IpcChild } from "../support/ipc-child.ts";
import { requireOrSkip } from "../support/require.ts";
import type { AttackReport, HostRequest, RegistryReport, Seen } from "./host-process.ts";
import { assertLatencyHeld, percentile } from "./latency.ts";
import { Status } from "./raw-peer.ts";

isolateRendezvous();

const KEY = "the cluster key of the hosts under test";
const CALCULATOR = "examples/calculator/service.ts";
/** The calculator, printing `sleep started <ms>` for each sleep call it serves. */
const OBSERVED = "test/cli/fixtures/observed-calculator.ts";
/** A node that serves no calculator: the seed of the cluster whose calls cross the gateway. */
const GREETER = "test/cli/fixtures/logging.ts";
const HOST_PROCESS = fileURLToPath(new URL("./host-process.ts", import.meta.url));
const MiB = 1024 * 1024;
/** Extra addresses of the attacker host, each another remote address to the node (.100 on, in the hosts' /24). */
const FLOOD_ADDRESSES = 33;

const unavailable = !hasCommand("openssl") ? "the openssl CLI is needed to make test certificates" : unavailableReason();

/** `what`, with every regular expression character escaped. */
const literal = (what: string): string => what.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

// ---------------------------------------------------------------- certificates

interface Pem {
  cert: string;
  key: string;
}

/**
 * A CA and certificates signed by it (openssl, one day), each valid for the
 * IP address of the host that uses it: TLS clients check the address they dial.
 */
function makeHostCerts(dir: string, leaves: Record<string, { ip?: string; usage: string }>): { ca: string; leaves: Record<string, Pem> } {
  const file = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run("req", "-x509", ...newKey, "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "1", "-subj", "/CN=Amoeba Hosts Test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  const out: Record<string, Pem> = {};
  for (const [cn, { ip, usage }] of Object.entries(leaves)) {
    run("req", ...newKey, "-keyout", file(`${cn}.key`), "-out", file(`${cn}.csr`), "-subj", `/CN=${cn}`);
    writeFileSync(file(`${cn}.ext`), `${ip ? `subjectAltName=IP:${ip}\n` : ""}extendedKeyUsage=${usage}\n`);
    run("x509", "-req", "-in", file(`${cn}.csr`), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file(`${cn}.crt`), "-days", "1", "-extfile", file(`${cn}.ext`));
    out[cn] = { cert: file(`${cn}.crt`), key: file(`${cn}.key`) };
  }
  return { ca: file("ca.crt"), leaves: out };
}

// ---------------------------------------------------------------- processes on the test hosts

type HostChild = IpcChild<{ name: string; pid: number }, HostRequest>;

/** Starts test/hostile/host-process.ts on `host`; killed in `cleanup`. */
async function hostProcess(host: Host, name: string, cleanup: Cleanup): Promise<HostChild> {
  const [command, ...args] = [...host.exec, process.execPath, "--import", "tsx", HOST_PROCESS, name];
  const child = spawn(command!, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  cleanup(async () => {
    child.kill("SIGKILL");
    await Promise.race([exited, sleep(5_000)]);
  });
  const ready = await new Promise<{ name: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} was not ready within 30 s`)), 30_000);
    child.on("message", (message: { type?: string; name: string; pid: number }) => {
      if (message?.type === "ready") (clearTimeout(timer), resolve(message));
    });
    void exited.then((how) => (clearTimeout(timer), reject(new Error(`${name} exited (${how}) before it was ready`))));
  });
  return new IpcChild("host process", child, ready, exited);
}

/** `amoeba <args>` on `host`, with the cluster key in the environment when `key` is given and none otherwise. */
function cliOn(host: Host, args: string[], cleanup: Cleanup, key?: string): CliProcess {
  return new CliProcess(args, cleanup, { AMOEBA_CLUSTER_KEY: key }, host.exec);
}

/** `amoeba <args>` run to completion on `host` (see {@link cliOn}). */
function runOn(host: Host, args: string[], cleanup: Cleanup, key?: string, ms = 30_000): Promise<Finished> {
  return runCli(args, cleanup, ms, { AMOEBA_CLUSTER_KEY: key }, host.exec);
}

/** Runs `jobs` at most {@link CONCURRENCY} at a time; results in order. */
async function inTurn<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

/** Polls `check` until it holds, every 100 ms, at most `ms`; fails saying `what`. */
async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident memory of process `pid` (bytes). */
function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;
}

/** CPU time process `pid` has used, user and system (s; clock ticks of 1/100 s). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The node process of a CLI started on a host (`ip netns exec` execs it: same pid). */
function nodePid(cli: CliProcess): number {
  const pid = cli.child.pid!;
  assert.equal(readFileSync(`/proc/${pid}/comm`, "utf8").trim(), "node", "ip netns exec ran node in its own process");
  return pid;
}

/** How many connections in `seen` were admitted and open at once, at most (from the attacker's side). */
function mostOpenAtOnce(seen: readonly Seen[]): number {
  const events: Array<[number, number]> = [];
  for (const s of seen) {
    if (!s.admitted || s.answeredAt === null) continue;
    events.push([s.answeredAt, 1]);
    if (s.closedAt !== null) events.push([s.closedAt, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, delta] of events) most = Math.max(most, (open += delta));
  return most;
}

/** The node's GOAWAY messages in `seen`, each with how many connections got it. */
function goAways(seen: readonly Seen[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of seen) {
    const key = s.goAway ? `${s.goAway.code} ${s.goAway.message}` : s.closedAt === null ? "still open" : "closed without a GOAWAY";
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Samples the node's RSS every 20 ms until stopped; returns the peak. */
function watchRss(pid: number): { before: number; stop: () => number } {
  const before = rssOf(pid);
  let peak = before;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // The process is gone: the test says so elsewhere.
    }
  }, 20);
  return { before, stop: () => (clearInterval(timer), peak) };
}

// ---------------------------------------------------------------- the tests

test("attacks from another host, against nodes started for production", { timeout: 115_000, concurrency: CONCURRENCY }, async (t) => {
  if (!requireOrSkip(t, unavailable === null, unavailable ?? "")) return;
  const cleanup: Cleanup = t.after.bind(t);
  const network = new TestNetwork(t, ["server", "member", "attacker"]);
  const [server, member, attacker] = [network.host("server"), network.host("member"), network.host("attacker")];
  const S = server.ip;
  const M = member.ip;
  const A = attacker.ip;
  const floodFrom = Array.from({ length: FLOOD_ADDRESSES }, (_, i) => `${A.split(".").slice(0, 3).join(".")}.${100 + i}`);
  for (const ip of floodFrom) execFileSync("ip", ["-n", attacker.netns, "addr", "add", `${ip}/24`, "dev", "eth0"]);

  const dir = mkdtempSync(join(tmpdir(), "amoeba-hosts-"));
  cleanup(() => rmSync(dir, { recursive: true, force: true }));
  const both = "serverAuth,clientAuth";
  const { ca, leaves } = makeHostCerts(dir, {
    registry: { ip: S, usage: both },
    "calc-1": { ip: M, usage: both },
    "ops-alice": { usage: "clientAuth" },
    // A certificate of the same CA, on the attacker host: trusted to connect, not to be calc-1.
    "amoeba-stranger": { ip: A, usage: both },
  });
  const tlsArgs = (pem: Pem): string[] => ["--tls-ca", ca, "--tls-cert", pem.cert, "--tls-key", pem.key];
  const policyFile = (name: string, rules: unknown[]): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ rules }));
    return path;
  };
  const registryPolicy = policyFile("registry-policy.json", [{ callers: ["cert:*"], methods: ["amoeba.registry.*"] }]);
  const calcPolicy = policyFile("calc-policy.json", [
    { callers: ["cert:ops-*"], methods: ["calculator.*", "amoeba.*"] },
    { callers: ["cert:*"], methods: ["amoeba.reflect.*"] },
  ]);

  // Every long-lived process at once: starting them is most of the time the CLI takes.
  // The nodes under attack at the wire: the calculator with the cluster key, each in a cluster of its own.
  // calc-k takes every attack but one; calc-held, the member's withheld frames, which it holds for frameTimeout (30 s)
  // while the other tests run.
  const keyed = cliOn(
    server,
    ["serve", CALCULATOR, "--name", "calc-k", "--cluster", "wire", "--listen", `tcp://${S}:7400`, "--gossip", `udp://${S}:7946`, "--recent-calls", "100"],
    cleanup,
    KEY,
  );
  const held = cliOn(server, ["serve", CALCULATOR, "--name", "calc-held", "--cluster", "wire-held", "--listen", `tcp://${S}:7401`, "--gossip", `udp://${S}:7947`], cleanup, KEY);
  const registry = cliOn(server, ["registry", "--name", "registry-1", "--listen", `tcp://${S}:7500`, ...tlsArgs(leaves.registry!), "--policy", registryPolicy], cleanup);
  const seedA = cliOn(member, ["serve", GREETER, "--name", "greeter-a", "--cluster", "gw-a", "--listen", `tcp://${M}:7410`, "--gossip", `udp://${M}:7950`], cleanup, KEY);
  const calcB = cliOn(member, ["serve", OBSERVED, "--name", "calc-b", "--cluster", "gw-b", "--listen", `tcp://${M}:7411`, "--gossip", `udp://${M}:7951`], cleanup, KEY);
  const [caller, hostile] = await Promise.all([hostProcess(member, "well-behaved caller", cleanup), hostProcess(attacker, "attacker", cleanup)]);
  await Promise.all([
    keyed.waitFor(/in cluster "wire".*gossip on udp:/),
    held.waitFor(/in cluster "wire-held".*gossip on udp:/),
    registry.waitFor(/listening on tcp:\/\//),
    seedA.waitFor(/in cluster "gw-a".*gossip on udp:/),
    calcB.waitFor(/in cluster "gw-b".*gossip on udp:/),
  ]);
  const calc1 = cliOn(
    member,
    ["serve", CALCULATOR, "--name", "calc-1", "--listen", `tcp://${M}:7401`, "--registry", `tcp://${S}:7500`, ...tlsArgs(leaves["calc-1"]!), "--policy", calcPolicy],
    cleanup,
  );
  const gateway = cliOn(server, ["gateway", "--name", "gw-1", "--join", `gw-a=udp://${M}:7950`, "--join", `gw-b=udp://${M}:7951`, "--host", S], cleanup, KEY);
  const keyedPid = nodePid(keyed);
  const address = `tcp://${S}:7400`;
  const heldAddress = `tcp://${S}:7401`;
  await Promise.all([caller.request({ cmd: "connect", address, key: KEY }, 20_000), caller.request({ cmd: "connect", address: heldAddress, key: KEY }, 20_000)]);

  /**
   * The well-behaved caller's latency to the node at `target` while `attack` runs, as
   * test/hostile/limits.test.ts samples it: 300 quiet calls, then at least 300 until the attack is done.
   */
  const underAttack = async <T>(what: string, attack: () => Promise<T>, target = address): Promise<T> => {
    const quiet = await caller.request<number[]>({ cmd: "sample", address: target, count: 300, maxMs: 30_000 }, 40_000);
    await caller.request({ cmd: "startSampling", address: target, count: 300, maxMs: 60_000 });
    let result: T;
    try {
      result = await attack();
    } catch (error) {
      await caller.request({ cmd: "stopSampling" }, 70_000).catch(() => {});
      throw error;
    }
    assertLatencyHeld(what, quiet, await caller.request<number[]>({ cmd: "stopSampling" }, 70_000));
    return result;
  };

  let heldFrames: Promise<AttackReport> | undefined;
  let heldSince = 0;
  await t.test("the wire: 256 connections from a member holding the key, each withholding the last byte of a 4 MiB CALL: memory stays bounded, the newest are cut", async () => {
    const rss = watchRss(nodePid(held));
    let report: AttackReport;
    let peak: number;
    heldSince = Date.now();
    try {
      report = await underAttack(
        "256 × 4 MiB CALLs withheld by a member",
        () => hostile.request<AttackReport>({ cmd: "withhold", tag: "member-4m", address: heldAddress, from: [A], perAddress: 256, declared: 4 * MiB, opening: "proof", key: KEY }, 60_000),
        heldAddress,
      );
    } finally {
      peak = rss.stop();
    }
    const grown = (peak - rss.before) / MiB;
    const messages = goAways(report.seen);
    console.log(`# a member's withheld frames: node RSS ${(rss.before / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB (+${grown.toFixed(0)}); ${JSON.stringify(messages)}`);
    assert.ok(grown < 320, `the node's RSS grew by ${grown.toFixed(0)} MiB: 256 × 4 MiB would be a gigabyte`);
    // All from one address: its share of the node's budget is the limit that cuts them.
    assert.ok(Object.keys(messages).some((m) => /\(maxPendingBytesPerAddress\)/.test(m)), JSON.stringify(messages));
    assert.ok(Object.keys(messages).some((m) => /maxConnectionsPerAddress/.test(m)), JSON.stringify(messages));
    // Those still holding their frame hold at most maxPendingBytesPerAddress (16 MiB) past 16 KiB each.
    const holding = report.seen.filter((s) => s.closedAt === null).length;
    assert.ok(holding * (4 * MiB - 16 * 1024) <= 16 * MiB + 4 * MiB, `${holding} connections still hold a 4 MiB frame each`);
    // They are cut at frameTimeout (30 s): checked by the last test, once the others ran.
    heldFrames = hostile.request<AttackReport>({ cmd: "whenClosed", tag: "member-4m", maxMs: 45_000 }, 50_000);
    heldFrames.catch(() => {});
  });

  await t.test("anonymous calls: amoeba call from the attacker host: refused at the handshake, Amoeba's own services and unknown methods included", async (t) => {
    const cleanup = t.after.bind(t);
    const targets: Array<[string, string]> = [
      ["calculator.add", '{"a":1,"b":2}'],
      ["amoeba.reflect.describe", "{}"],
      ["amoeba.stats.get", "{}"],
      ["amoeba.traces.recent", "{}"],
      ["calculator.nosuch", "{}"],
      ["nosuch.method", "{}"],
    ];
    const attempts = await inTurn(
      targets.map(([method, input]) => async () => {
        const cli = cliOn(attacker, ["call", address, method, input, "--meta", "amoeba-caller=admin", "--meta", "amoeba-caller-role=root", "--timeout", "5s"], cleanup);
        return { method, pid: cli.child.pid!, result: await cli.exited(30_000) };
      }),
    );
    const wrongKey = await runOn(attacker, ["call", address, "calculator.add", '{"a":1,"b":2}', "--meta", "amoeba-caller=admin"], cleanup, "a key that is not the cluster's");
    for (const { method, result } of attempts) {
      assert.equal(result.stdout, "", `${method}: the anonymous call got an answer: ${result.stdout}`);
      assert.equal(result.code, 3, `${method}: ${result.stderr}`);
      // Refused by whichever end reads the other's HELLO first: the node (no nonce) or the CLI (a nonce it cannot prove).
      assert.match(result.stderr, new RegExp(`^ERROR UNAUTHENTICATED: connection to ${literal(address)} closed during the handshake: .*cluster key`, "m"), method);
    }
    assert.equal(wrongKey.stdout, "", `another key got an answer: ${wrongKey.stdout}`);
    assert.equal(wrongKey.code, 3, wrongKey.stderr);
    assert.match(wrongKey.stderr, /^ERROR UNAUTHENTICATED: .*does not match this node's cluster key/m);

    // A member calls, then asks what the node served: the attacker's calls are not among them.
    const legit = cliOn(member, ["call", address, "calculator.add", '{"a":20,"b":22}'], cleanup, KEY);
    const sum = await legit.exited(30_000);
    assert.deepEqual([sum.code, sum.stdout], [0, "42\n"], sum.stderr);
    const traces = await runOn(member, ["call", address, "amoeba.traces.recent", '{"limit":100}', "--json"], cleanup, KEY);
    assert.equal(traces.code, 0, traces.stderr);
    const served = (JSON.parse(traces.stdout) as { calls: Array<{ kind: string; service: string; method: string; peer: string }> }).calls.filter((call) => call.kind === "server");
    const attackers = new Set(attempts.map(({ pid }) => `amoeba-cli-${pid}`));
    assert.deepEqual(served.filter((call) => attackers.has(call.peer)), [], "calls of the attacker the node served");
    assert.ok(
      served.some((call) => call.peer === `amoeba-cli-${legit.child.pid}` && call.service === "calculator" && call.method === "add"),
      `the member's call is among those served: ${JSON.stringify(served)}`,
    );
    const members = new Set([`amoeba-cli-${legit.child.pid}`, `client-${caller.ready.pid}`]);
    assert.deepEqual(served.filter((call) => !members.has(call.peer)), [], "calls the node served to others than its members");
    assert.doesNotMatch(keyed.stderr, /dropped amoeba-caller metadata/, "no anonymous call got as far as its metadata");
  });

  // A member's connections, proved, stay open until the idle timeout (300 s): the caps are reached however slowly
  // the flood goes. An outsider's are cut by the handshake timeout (5 s) besides, as the tests after this one show.
  await t.test("the wire: a flood of 4,360 connections from 34 addresses of the attacker host, by a member holding the key: each address holds at most 128, the node at most 4096", async (t) => {
    // Released however the test ends: held connections would count against the next attack's limits.
    t.after(() => hostile.request({ cmd: "release", tag: "flood" }));
    const rss = watchRss(keyedPid);
    let report: AttackReport;
    let peak: number;
    try {
      report = await underAttack("a flood of 4,360 connections from 34 addresses", () =>
        hostile.request<AttackReport>({ cmd: "flood", tag: "flood", address, first: { from: A, count: 136 }, from: floodFrom, perAddress: 128, opening: "proof", key: KEY }, 60_000),
      );
    } finally {
      peak = rss.stop();
    }
    const { seen } = report;
    const admitted = seen.filter((s) => s.admitted).length;
    const refusals = goAways(seen.filter((s) => !s.admitted));
    const grown = (peak - rss.before) / MiB;
    console.log(
      `# flood: ${seen.length} connections opened in ${report.tookMs} ms, ${admitted} admitted, ${mostOpenAtOnce(seen)} open at once at most; ` +
        `node RSS ${(rss.before / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB (+${grown.toFixed(0)}); refused: ${JSON.stringify(refusals)}`,
    );
    assert.ok(grown < 320, `the node's RSS grew by ${grown.toFixed(0)} MiB`);
    assert.equal(seen.length, 136 + 128 * FLOOD_ADDRESSES, "every connection of the flood was opened");
    const closedDuring = seen.filter((s) => s.closedAt !== null && s.admitted && s.closedAt < Math.max(...seen.map((x) => x.answeredAt ?? 0))).length;
    assert.equal(closedDuring, 0, "no admitted connection was closed while the flood went on, so the counts below are the node's own");
    // The well-behaved caller holds one of the node's places.
    assert.ok(mostOpenAtOnce(seen) <= 4096 - 1, `${mostOpenAtOnce(seen)} of the attacker's connections were open at once, over maxConnections (4096)`);
    for (const from of [A, ...floodFrom]) {
      const mine = seen.filter((s) => s.from === from);
      assert.ok(mostOpenAtOnce(mine) <= 128, `${from} held ${mostOpenAtOnce(mine)} connections at once, over maxConnectionsPerAddress (128)`);
    }
    for (const s of seen.filter((s) => !s.admitted)) {
      assert.equal(s.goAway?.code, Status.RESOURCE_EXHAUSTED, `a refused connection: ${JSON.stringify(s)}`);
      assert.match(s.goAway!.message, /\(maxConnections\)|\(maxConnectionsPerAddress\)/);
    }
    assert.ok(seen.some((s) => s.from === A && new RegExp(`^${literal(A)} has 128 connections open to this node, the limit per address \\(maxConnectionsPerAddress\\)$`).test(s.goAway?.message ?? "")), JSON.stringify(refusals));
    assert.ok(seen.some((s) => /^this node has 4096 connections open, its limit \(maxConnections\)$/.test(s.goAway?.message ?? "")), JSON.stringify(refusals));
    assert.ok(admitted <= 4096 - 1, `${admitted} of the attacker's connections were admitted`);
  });

  await t.test("the wire: an outsider's 256 connections from one address, each a HELLO with a nonce then a 4 MiB CALL withheld: refused on the declared length", async (t) => {
    // Released however the test ends: held connections would count against the next attack's limits.
    t.after(() => hostile.request({ cmd: "release", tag: "outsider-4m" }));
    const rss = watchRss(keyedPid);
    let report: AttackReport;
    let peak: number;
    try {
      report = await underAttack("256 × 4 MiB CALLs withheld by an outsider", () =>
        hostile.request<AttackReport>({ cmd: "withhold", tag: "outsider-4m", address, from: [A], perAddress: 256, declared: 4 * MiB, opening: "nonce" }, 60_000),
      );
    } finally {
      peak = rss.stop();
    }
    const closed = await hostile.request<AttackReport>({ cmd: "whenClosed", tag: "outsider-4m", maxMs: 10_000 }, 15_000);
    const grown = (peak - rss.before) / MiB;
    const messages = goAways(closed.seen);
    console.log(`# an outsider's 4 MiB frames: node RSS ${(rss.before / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB (+${grown.toFixed(0)}); closed: ${JSON.stringify(messages)}`);
    assert.equal(report.seen.length, 256);
    assert.ok(grown < 320, `the node's RSS grew by ${grown.toFixed(0)} MiB: 256 × 4 MiB would be a gigabyte`);
    for (const s of closed.seen) {
      assert.ok(s.goAway, `not refused, or closed without saying why: ${JSON.stringify(s)}`);
      assert.match(`${s.goAway.code} ${s.goAway.message}`, /^13 protocol error: declared frame size 4194304 bytes exceeds the limit of 262144 before the handshake is over$|^8 .*\(maxConnectionsPerAddress\)$/);
    }
    assert.ok(Object.keys(messages).some((m) => /before the handshake is over/.test(m)), JSON.stringify(messages));
  });

  await t.test("the wire: an outsider's 528 connections from 33 addresses, each a HELLO with a nonce then a 255 KiB CALL withheld: maxPendingBytes holds, the rest are cut at the handshake timeout", async (t) => {
    // Released however the test ends: held connections would count against the next attack's limits.
    t.after(() => hostile.request({ cmd: "release", tag: "outsider-255k" }));
    const rss = watchRss(keyedPid);
    let peak: number;
    try {
      await underAttack("528 × 255 KiB CALLs withheld by an outsider from 33 addresses", () =>
        hostile.request<AttackReport>({ cmd: "withhold", tag: "outsider-255k", address, from: floodFrom, perAddress: 16, declared: 255 * 1024, opening: "nonce" }, 60_000),
      );
    } finally {
      peak = rss.stop();
    }
    // The handshake timeout (5 s) closes those that hold their frame, having never proved the key.
    const closed = await hostile.request<AttackReport>({ cmd: "whenClosed", tag: "outsider-255k", maxMs: 15_000 }, 20_000);
    const grown = (peak - rss.before) / MiB;
    const messages = goAways(closed.seen);
    console.log(`# an outsider's 255 KiB frames: node RSS ${(rss.before / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB (+${grown.toFixed(0)}); closed: ${JSON.stringify(messages)}`);
    assert.equal(closed.seen.length, 16 * FLOOD_ADDRESSES);
    assert.ok(grown < 320, `the node's RSS grew by ${grown.toFixed(0)} MiB`);
    assert.equal(messages["still open"], undefined, `connections the node never closed: ${JSON.stringify(messages)}`);
    for (const s of closed.seen) {
      assert.ok(s.goAway, `closed without saying why: ${JSON.stringify(s)}`);
      assert.match(`${s.goAway.code} ${s.goAway.message}`, /^8 .*\(maxPendingBytes\); new ones are refused until it drains$|^13 no handshake within 5000 ms$/);
    }
    assert.ok(Object.keys(messages).some((m) => /maxPendingBytes/.test(m)), JSON.stringify(messages));
  });

  await t.test("the wire: CALLs with 300,000 metadata entries are refused before they are decoded: from a member holding the key, and in place of an outsider's PROOF", async (t) => {
    // Released however the test ends: held connections would count against the next attack's limits.
    t.after(() => Promise.all(["meta-member", "meta-outsider"].map((tag) => hostile.request({ cmd: "release", tag }))));
    const cpuBefore = cpuOf(keyedPid);
    const member20 = await underAttack("20 CALLs with 300,000 metadata entries from a member", () =>
      hostile.request<AttackReport>({ cmd: "meta", tag: "meta-member", address, calls: 20, entries: 300_000, opening: "proof", key: KEY }, 90_000),
    );
    const cpuMember = cpuOf(keyedPid) - cpuBefore;
    await hostile.request({ cmd: "release", tag: "meta-member" });
    const outsider20 = await underAttack("20 CALLs with 300,000 metadata entries in place of a PROOF", () =>
      hostile.request<AttackReport>({ cmd: "meta", tag: "meta-outsider", address, calls: 20, entries: 300_000, opening: "nonce" }, 90_000),
    );
    const times = (r: AttackReport) => r.answers.map((a) => a.ms);
    console.log(
      `# 300,000-entry metadata: a member's CALLs answered in median ${percentile(times(member20), 50).toFixed(1)} ms (max ${Math.max(...times(member20)).toFixed(1)}), ` +
        `the node used ${cpuMember.toFixed(2)} s of CPU meanwhile (the well-behaved caller's calls included); an outsider's refused in median ${percentile(times(outsider20), 50).toFixed(1)} ms, send included`,
    );
    assert.equal(member20.answers.length, 20);
    for (const answer of member20.answers) {
      assert.equal(answer.via, "error", `a CALL with 300,000 metadata entries was answered: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, Status.INVALID_ARGUMENT);
      assert.match(String(answer.message), /metadata must map strings to strings, within 8192 bytes and 128 entries/);
    }
    assert.equal(outsider20.answers.length, 20);
    for (const answer of outsider20.answers) {
      // 2.9 MB where only a PROOF may come: refused on its declared length, never read.
      assert.equal(answer.via, "goaway", `an outsider's CALL was not refused at the handshake: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, Status.INTERNAL);
      assert.match(String(answer.message), /^protocol error: declared frame size \d+ bytes exceeds the limit of 262144 before the handshake is over$/);
    }
  });

  // The look-up and membership attacks together (at most CONCURRENCY at once, the longest first): none of them measures latency.
  const joinsTest = t.test("misconfigured joins: from the attacker host, a wrong cluster key or a seed that never answers: a warning, then exit 3", async (t) => {
    const cleanup = t.after.bind(t);
    /** Runs `amoeba <args>` on the attacker host; prints when it warned and when it exited. */
    const timed = (what: string, args: string[], key: string) => async (): Promise<Finished> => {
      const started = Date.now();
      const cli = cliOn(attacker, args, cleanup, key);
      let warned = -1;
      const onData = (): void => void (warned < 0 && /no seed answered within/.test(cli.stderr) && (warned = Date.now() - started));
      cli.child.stderr!.on("data", onData);
      const result = await cli.exited(40_000);
      onData();
      console.log(`# ${what} from the attacker host: warned after ${warned} ms, exit ${result.code} after ${Date.now() - started} ms`);
      return result;
    };
    const wrongKey = "a key that is not the cluster's";
    // The gateway first: it takes longest to stop.
    const [gatewayWrong, wrong, dead] = await inTurn([
      timed("gateway with a wrong key", ["gateway", "--join", `gw-a=udp://${M}:7950`, "--join", `gw-b=udp://${M}:7951`, "--host", A, "--seed-timeout", "1000"], wrongKey),
      timed("serve with a wrong key", ["serve", CALCULATOR, "--cluster", "gw-b", "--seeds", `udp://${M}:7951`, "--listen", `tcp://${A}:7404`, "--gossip", `udp://${A}:7953`, "--seed-timeout", "1000"], wrongKey),
      timed("serve with a seed that never answers", ["serve", CALCULATOR, "--cluster", "gw-b", "--seeds", `udp://${S}:7999`, "--listen", `tcp://${A}:7405`, "--gossip", `udp://${A}:7954`, "--seed-timeout", "1000"], KEY),
    ]);
    assert.equal(wrong!.code, 3, wrong!.stderr);
    assert.match(wrong!.stderr, new RegExp(`warning: node \\S+ in cluster "gw-b": no seed answered within 1000 ms \\(udp://${literal(M)}:7951\\)`));
    assert.match(wrong!.stderr, /another --cluster-key or --cluster/);
    await until("calc-b to warn of gossip sealed with another key", () => new RegExp(`gossip from udp://${literal(A)}:7953 dropped: it is sealed with another cluster key`).test(calcB.stderr), 5_000);
    assert.equal(dead!.code, 3, dead!.stderr);
    assert.match(dead!.stderr, new RegExp(`no seed answered within 1000 ms \\(udp://${literal(S)}:7999\\)`));
    assert.equal(gatewayWrong!.code, 3, gatewayWrong!.stderr);
    assert.match(gatewayWrong!.stderr, /amoeba gateway: warning: node \S+ in cluster "gw-a": no seed answered within 1000 ms/);
  });

  const registryTest = t.test("the registry over mutual TLS: no certificate reads or writes nothing; a certificate of the same CA cannot rewrite calc-1's record; look-ups reach only calc-1", async (t) => {
    const cleanup = t.after.bind(t);
    await calc1.waitFor(/registered with the registry at /);
    const registryAddress = `tcp://${S}:7500`;
    const trapPort = await hostile.request<number>({ cmd: "trap", host: A });
    const trap = `tcp://${A}:${trapPort}`;
    const pem = (path: string) => readFileSync(path, "utf8");
    const stranger = leaves["amoeba-stranger"]!;
    const [noTls, noCert, sameCa] = [
      await hostile.request<RegistryReport>({ cmd: "registry", address: registryAddress, victim: "calc-1", trap }, 30_000),
      await hostile.request<RegistryReport>({ cmd: "registry", address: registryAddress, tls: { ca: pem(ca) }, victim: "calc-1", trap }, 30_000),
      await hostile.request<RegistryReport>({ cmd: "registry", address: registryAddress, tls: { ca: pem(ca), cert: pem(stranger.cert), key: pem(stranger.key) }, victim: "calc-1", trap }, 30_000),
    ];
    console.log(`# registry: without TLS ${JSON.stringify(noTls.attempts)}; without a certificate ${JSON.stringify(noCert.attempts)}; with a stranger's ${JSON.stringify(sameCa.attempts)}`);
    for (const [what, report] of [["without TLS", noTls], ["without a certificate", noCert]] as const) {
      assert.equal(report.victim, null, `${what}: the attacker read calc-1's record`);
      assert.equal(report.attempts.length, 4);
      for (const attempt of report.attempts) assert.match(attempt.outcome, /^no connection: /, `${what}: ${attempt.what} got through: ${attempt.outcome}`);
    }
    assert.ok(sameCa.victim, "a certificate of the CA may read the members (the policy lets cert:* in)");
    assert.equal(sameCa.attempts.length, 3);
    for (const attempt of sameCa.attempts) {
      assert.match(attempt.outcome, /^PERMISSION_DENIED: amoeba\.registry\.\w+ on node registry-1: .*registered by cert:calc-1/, `${attempt.what}: ${attempt.outcome}`);
    }
    // The CLI too: a fake calc-1 from the attacker host, without a certificate, cannot register (it keeps trying).
    const fake = cliOn(attacker, ["serve", CALCULATOR, "--name", "calc-1", "--listen", `tcp://${A}:7402`, "--registry", registryAddress, "--insecure"], cleanup);
    await until("the fake calc-1 to fail to reach the registry", () => /cannot read the registry; reconnecting/.test(fake.stderr), 20_000);

    // What look-up says now, asked with an operator's certificate from the member host.
    const [ls, sum] = await inTurn([
      () => runOn(member, ["ls", "--registry", registryAddress, "--json", ...tlsArgs(leaves["ops-alice"]!)], cleanup),
      () => runOn(member, ["call", "--registry", registryAddress, "calculator.add", '{"a":2,"b":5}', ...tlsArgs(leaves["ops-alice"]!)], cleanup),
    ]);
    assert.equal(ls!.code, 0, ls!.stderr);
    const listed = JSON.parse(ls!.stdout) as { services: Array<{ name: string; instances: Array<{ node: string; address?: string; addresses?: string[] }> }> };
    const instances = listed.services.filter((s) => s.name === "calculator").flatMap((s) => s.instances);
    assert.deepEqual(instances.map((i) => i.node), ["calc-1"], ls!.stdout);
    assert.doesNotMatch(ls!.stdout, new RegExp(literal(A)), "an address of the attacker host is listed");
    assert.deepEqual([sum!.code, sum!.stdout], [0, "7\n"], sum!.stderr);
    assert.equal(await hostile.request<number>({ cmd: "trapped" }), 0, "a look-up sent a caller to the attacker's trap");
    fake.kill();

    // And calc-1 itself, called with no certificate from the attacker host: refused at the TLS handshake.
    const anonymous = await runOn(attacker, ["call", `tcp://${M}:7401`, "calculator.add", '{"a":1,"b":2}', "--tls-ca", ca, "--meta", "amoeba-caller=admin"], cleanup);
    assert.equal(anonymous.stdout, "", `calc-1 answered an anonymous caller: ${anonymous.stdout}`);
    assert.equal(anonymous.code, 3, anonymous.stderr);
    assert.match(anonymous.stderr, /closed during the handshake: .*certificate required/);
  });

  const gatewayTest = t.test("a gateway: an outsider without the key gossiping into cluster gw-b with a fake calculator receives none of gw-a's calls through the gateway", async (t) => {
    const cleanup = t.after.bind(t);
    const gatewayB = (await gateway.waitFor(/in cluster gw-b, gossip on (udp:\/\/\S+), calls on tcp:\/\/\S+\n/))[1]!;
    const gatewayA = (await gateway.waitFor(/in cluster gw-a, gossip on udp:\/\/\S+, calls on (tcp:\/\/\S+)\n/))[1]!;
    await gateway.waitFor(/routes into gw-a: .*calculator@1\.2\.0/);
    const fake = cliOn(
      attacker,
      ["serve", OBSERVED, "--name", "calc-fake", "--cluster", "gw-b", "--seeds", `udp://${M}:7951,${gatewayB}`, "--listen", `tcp://${A}:7403`, "--gossip", `udp://${A}:7952`, "--insecure", "--wait-for-seeds"],
      cleanup,
    );
    await fake.waitFor(/serving calculator@1\.2\.0 on /);
    // Its gossip reaches the gateway, which drops it and says so.
    await until("the gateway to drop the outsider's gossip", () => new RegExp(`gossip from udp://${literal(A)}:7952 dropped: it carries no cluster key and this node has one`).test(gateway.stderr), 20_000);
    const bench = await runOn(member, ["bench", "calculator.sleep", '{"ms":1}', "--cluster", "gw-a", "--seeds", `udp://${M}:7950`, "--calls", "30", "--concurrency", "2", "--json"], cleanup, KEY, 40_000);
    assert.equal(bench.code, 0, bench.stderr);
    const summary = JSON.parse(bench.stdout) as { ok: number; instances: Array<{ node: string; address: string; attempts: number }> };
    assert.equal(summary.ok, 30, bench.stdout);
    assert.deepEqual(summary.instances.map((i) => i.node), ["gw-1"], `gw-a's calls went to the gateway only: ${bench.stdout}`);
    await until("calc-b to have served the 30 calls", () => (calcB.stdout.match(/sleep started 1\n/g) ?? []).length >= 30, 10_000);
    assert.doesNotMatch(fake.stdout, /sleep started/, "a call of gw-a reached the outsider's fake calculator");
    // Nor can the outsider use the gateway itself to call into gw-a.
    const direct = await runOn(attacker, ["call", gatewayA, "calculator.add", '{"a":1,"b":2}'], cleanup);
    assert.equal(direct.stdout, "", `the gateway answered an outsider: ${direct.stdout}`);
    assert.equal(direct.code, 3, direct.stderr);
    assert.match(direct.stderr, /^ERROR UNAUTHENTICATED: /m);
  });

  await Promise.all([joinsTest, registryTest, gatewayTest]);

  await t.test("the wire: the member's withheld frames still held are cut at frameTimeout (30 s)", async () => {
    assert.ok(heldFrames, "the member's withholding attack did not run");
    const closed = await heldFrames;
    await hostile.request({ cmd: "release", tag: "member-4m" });
    const late = closed.seen.filter((s) => s.goAway?.message.includes("frameTimeout"));
    console.log(`# frames held past frameTimeout: ${late.length} connections cut after ${late.map((s) => (s.frameHeldMs! / 1000).toFixed(1)).join(", ")} s; ${((Date.now() - heldSince) / 1000).toFixed(0)} s since the attack began`);
    assert.deepEqual(goAways(closed.seen)["still open"], undefined, `connections still holding a partial frame: ${JSON.stringify(goAways(closed.seen))}`);
    assert.ok(late.length > 0, `no connection was cut by frameTimeout: ${JSON.stringify(goAways(closed.seen))}`);
    for (const s of late) {
      assert.equal(s.goAway!.code, Status.RESOURCE_EXHAUSTED);
      assert.equal(s.goAway!.message, "a frame took over 30000 ms to arrive (frameTimeout)");
      assert.ok(s.frameHeldMs! >= 30_000 - 100, `cut after ${s.frameHeldMs} ms, before frameTimeout`);
    }
    // The node still serves its members.
    const after = await caller.request<number[]>({ cmd: "sample", address: heldAddress, count: 20, maxMs: 10_000 }, 20_000);
    assert.equal(after.length, 20);
  });
});
