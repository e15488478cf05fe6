/**
 * Test hosts made of network namespaces: one namespace per host, each with a
 * veth whose other end sits on a bridge in a namespace of its own, and a
 * private address (10.213.0.x/24) that exists only inside these namespaces —
 * no traffic ever leaves them. Partitions are nftables rules in the hosts'
 * own input hooks (packets dropped on arrival, like a lossy link, rather than
 * refused at the sender).
 *
 * Needs root, iproute2 (`ip`) and nftables (`nft`); `available()` says why not.
 * Names carry the pid and a counter, so concurrent runs never share anything,
 * and `destroy()` (registered in t.after) deletes every namespace even after a failure.
 */
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

let networks = 0;
const TABLE = "amoeba_faults";

function run(args: string[], input?: string): { ok: boolean; out: string } {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", input, timeout: 10_000 });
  return { ok: result.status === 0, out: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}`.trim() };
}

function must(args: string[], input?: string): void {
  const { ok, out } = run(args, input);
  if (!ok) throw new Error(`${args.join(" ")} failed: ${out}`);
}

function deleteNamespace(netns: string): void {
  // Deleting can fail for a moment while the kernel still tears down what was inside.
  for (let attempt = 0; attempt < 5; attempt++) {
    const { ok, out } = run(["ip", "netns", "del", netns]);
    if (ok || /No such file/.test(out)) return;
    spawnSync("sleep", ["0.2"]);
    if (attempt === 4) process.stderr.write(`could not delete network namespace ${netns}: ${out}\n`);
  }
}

/** Deletes namespaces of these tests left by runs whose process is gone (a run killed before its t.after). */
function sweepStale(): void {
  for (const line of run(["ip", "netns", "list"]).out.split("\n")) {
    const match = /^(amb-faults-(\d+)-\S+)/.exec(line);
    if (!match || Number(match[2]) === process.pid) continue;
    try {
      process.kill(Number(match[2]), 0);
    } catch {
      deleteNamespace(match[1]!);
    }
  }
}

/** Null when namespaces, veths, bridges and nftables can be used here; else the reason. */
export function unavailableReason(): string | null {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  if (!run(["ip", "-V"]).ok) return "the ip command (iproute2) is missing";
  if (!run(["nft", "--version"]).ok) return "the nft command (nftables) is missing";
  sweepStale();
  const probe = `amb-faults-${process.pid}-probe-${++networks}`;
  const added = run(["ip", "netns", "add", probe]);
  if (!added.ok) return `cannot create a network namespace: ${added.out}`;
  try {
    const bridge = run(["ip", "-n", probe, "link", "add", "br0", "type", "bridge"]);
    if (!bridge.ok) return `cannot create a bridge: ${bridge.out}`;
    const table = run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet", TABLE]);
    if (!table.ok) return `cannot use nftables in a namespace: ${table.out}`;
    return null;
  } finally {
    deleteNamespace(probe);
  }
}

/** One test host: a namespace and its address. */
export interface Host {
  name: string;
  netns: string;
  ip: string;
  /** The command prefix that runs a program on this host. */
  exec: string[];
}

/** Hosts on one bridge, with partitions between them. */
export class TestNetwork {
  readonly hosts: Host[] = [];
  readonly #prefix: string;
  readonly #bridge: string;
  readonly #namespaces: string[] = [];

  /** Creates hosts named `names` (torn down in t.after). Check `unavailableReason()` first. */
  constructor(t: TestContext, names: string[]) {
    this.#prefix = `amb-faults-${process.pid}-${++networks}`;
    this.#bridge = `${this.#prefix}-br`;
    t.after(() => this.destroy());
    this.#addNamespace(this.#bridge);
    must(["ip", "-n", this.#bridge, "link", "add", "br0", "type", "bridge"]);
    must(["ip", "-n", this.#bridge, "link", "set", "br0", "up"]);
    names.forEach((name, i) => {
      const netns = `${this.#prefix}-${name}`;
      const ip = `10.213.0.${i + 1}`;
      this.#addNamespace(netns);
      must(["ip", "-n", netns, "link", "set", "lo", "up"]);
      // Created straight inside the namespaces: nothing appears on this machine's own interfaces.
      must(["ip", "link", "add", "eth0", "netns", netns, "type", "veth", "peer", "name", `h${i}`, "netns", this.#bridge]);
      must(["ip", "-n", netns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
      must(["ip", "-n", netns, "link", "set", "eth0", "up"]);
      must(["ip", "-n", this.#bridge, "link", "set", `h${i}`, "master", "br0"]);
      must(["ip", "-n", this.#bridge, "link", "set", `h${i}`, "up"]);
      must(
        ["ip", "netns", "exec", netns, "nft", "-f", "-"],
        `table inet ${TABLE} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n  }\n}\n`,
      );
      this.hosts.push({ name, netns, ip, exec: ["ip", "netns", "exec", netns] });
    });
  }

  host(name: string): Host {
    const host = this.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no host ${name}`);
    return host;
  }

  /** Drops every packet from `from` arriving at `to` (one direction). */
  drop(from: string, to: string): void {
    const target = this.host(to);
    must(["ip", "netns", "exec", target.netns, "nft", "add", "rule", "inet", TABLE, "input", "ip", "saddr", this.host(from).ip, "counter", "drop"]);
  }

  /** Packets the rules on `host` dropped so far. */
  droppedPackets(host: string): number {
    const { out } = run(["ip", "netns", "exec", this.host(host).netns, "nft", "list", "chain", "inet", TABLE, "input"]);
    let total = 0;
    for (const match of out.matchAll(/counter packets (\d+)/g)) total += Number(match[1]);
    return total;
  }

  /** Cuts every host of `a` from every host of `b`, both ways. */
  partition(a: string[], b: string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.drop(x, y);
        this.drop(y, x);
      }
    }
  }

  /** Removes every rule: one network again. */
  heal(): void {
    for (const host of this.hosts) must(["ip", "netns", "exec", host.netns, "nft", "flush", "chain", "inet", TABLE, "input"]);
  }

  /** Kills anything still running in the namespaces (only our own processes run there), then deletes them. */
  destroy(): void {
    for (const netns of this.#namespaces) {
      const pids = run(["ip", "netns", "pids", netns]).out.split(/\s+/).filter((pid) => /^\d+$/.test(pid));
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    for (const netns of this.#namespaces.splice(0).reverse()) deleteNamespace(netns);
  }

  #addNamespace(netns: string): void {
    must(["ip", "netns", "add", netns]);
    this.#namespaces.push(netns);
  }
}
