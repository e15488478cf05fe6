/**
 * nats-server processes for tests: each on a free port of 127.0.0.1, started
 * and stopped by the test that needs it. Tests skip (or fail under
 * AMOEBA_REQUIRE_ALL=1) when the binary is not on the PATH.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Whether a nats-server binary is on the PATH. */
export const natsServerAvailable: boolean = (() => {
  const result = spawnSync("nats-server", ["--version"], { encoding: "utf8" });
  return result.status === 0;
})();

/** Why NATS tests cannot run here, or undefined when they can. */
export const natsMissing: string | undefined = natsServerAvailable ? undefined : "the nats-server binary is needed on the PATH";

// Ports this process handed out: a port closed again may come back from the
// kernel at the next ask, and two servers of one topology must not share one.
const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1 (free when asked; the server takes it right after), never one handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (address === null || typeof address === "string") throw new Error("no port");
    if (handedOut.has(address.port)) continue;
    handedOut.add(address.port);
    return address.port;
  }
}

/** A running nats-server. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server's process id (e.g. to read its CPU time). */
  readonly pid: number | undefined;
  /** What the server printed, for failure messages. */
  readonly log: () => string;
  /** Stops it (SIGTERM, then SIGKILL) and waits for the process to end. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Configuration file text; `{port}` is replaced by the client port. */
  config?: string;
  /** Extra command line arguments. */
  args?: string[];
  /** The client port; default a free one. */
  port?: number;
}

// Servers still running: killed when this process exits, even on a crash, so none outlives its test.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts nats-server on a free port and waits until it takes connections
 * (bounded: 10 s). Call `stop()` in `t.after`.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const args = ["-a", "127.0.0.1", "-p", String(port), ...(options.args ?? [])];
  let dir: string | undefined;
  if (options.config !== undefined) {
    dir = mkdtempSync(join(tmpdir(), "amoeba-nats-"));
    const file = join(dir, "server.conf");
    writeFileSync(file, options.config.replaceAll("{port}", String(port)));
    args.push("-c", file);
  }
  const child: ChildProcess = spawn("nats-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  const keep = (chunk: Buffer): void => {
    if (output.length < 64 * 1024) output += chunk.toString("utf8");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > until) {
      await end("SIGKILL");
      // Let its last words arrive: they say why (a port taken, a bad config).
      await sleep(50);
      throw new Error(`nats-server did not start on port ${port} (exit ${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    await sleep(20);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    log: () => output,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

// --- Topologies: clusters, leaf nodes, superclusters ------------------------

/** A server of a topology, with the ports other servers reach it on. */
export interface TopologyServer extends NatsServer {
  /** The server's name (`<cluster>-<n>`, or `leaf-<n>`). */
  readonly name: string;
  /** Where leaf nodes attach (servers of a cluster only). */
  readonly leafPort: number | undefined;
  /** The HTTP monitoring port (`/connz`, `/routez`, …) on 127.0.0.1. */
  readonly monitorPort: number | undefined;
}

/** Options of {@link startSupercluster}. */
export interface ClusterSpec {
  /** The cluster's name; with more than one cluster, also its gateway's name. */
  name: string;
  /** How many servers. */
  size: number;
}

/** The credentials leaf servers attach with; they bind to the hubs' APP account. */
const LEAF_USER = "leaf";

interface PlannedServer {
  name: string;
  client: number;
  route: number;
  leaf: number;
  gateway: number;
  monitor: number;
}

/**
 * Starts NATS clusters of `size` servers each, routes between the servers of
 * a cluster, and, with more than one cluster, gateways joining them into a
 * supercluster. Every server also listens for leaf nodes. All ports are free
 * ones of 127.0.0.1. The servers answer clients when this resolves; routes and
 * gateways may still be forming, so tests wait on what they need (e.g. a
 * look-up seeing a service). On failure, whatever started is stopped.
 */
export async function startSupercluster(clusters: readonly ClusterSpec[]): Promise<Map<string, TopologyServer[]>> {
  // A port planned free may be taken by another process before its server binds it: plan again, once.
  try {
    return await startPlannedSupercluster(clusters);
  } catch {
    return await startPlannedSupercluster(clusters);
  }
}

async function startPlannedSupercluster(clusters: readonly ClusterSpec[]): Promise<Map<string, TopologyServer[]>> {
  const plans = new Map<string, PlannedServer[]>();
  for (const cluster of clusters) {
    const planned: PlannedServer[] = [];
    for (let i = 1; i <= cluster.size; i++) {
      planned.push({ name: `${cluster.name}-${i}`, client: await freePort(), route: await freePort(), leaf: await freePort(), gateway: await freePort(), monitor: await freePort() });
    }
    plans.set(cluster.name, planned);
  }
  const gateways = clusters.length > 1;
  const started: TopologyServer[] = [];
  const out = new Map<string, TopologyServer[]>();
  try {
    for (const cluster of clusters) {
      const planned = plans.get(cluster.name)!;
      const servers = await Promise.all(
        planned.map(async (plan) => {
          const lines = [
            `server_name: "${plan.name}"`,
            `http: "127.0.0.1:${plan.monitor}"`,
            `cluster {`,
            `  name: "${cluster.name}"`,
            `  listen: "127.0.0.1:${plan.route}"`,
            `  routes: [${planned.map((other) => `"nats-route://127.0.0.1:${other.route}"`).join(", ")}]`,
            `}`,
            // Leaf nodes and gateways together need a system account; clients without credentials land in APP.
            `accounts {`,
            `  SYS: { users: [ { user: "sys", password: "sys" } ] }`,
            `  APP: { users: [ { user: "app", password: "app" } ] }`,
            `}`,
            `system_account: SYS`,
            `no_auth_user: app`,
            `leafnodes {`,
            `  listen: "127.0.0.1:${plan.leaf}"`,
            `  authorization { user: "${LEAF_USER}", password: "${LEAF_USER}", account: "APP" }`,
            `}`,
          ];
          if (gateways) {
            lines.push(
              `gateway {`,
              `  name: "${cluster.name}"`,
              `  listen: "127.0.0.1:${plan.gateway}"`,
              `  gateways: [`,
              ...clusters.map((other) => `    { name: "${other.name}", urls: [${plans.get(other.name)!.map((o) => `"nats://127.0.0.1:${o.gateway}"`).join(", ")}] }`),
              `  ]`,
              `}`,
            );
          }
          const server = await startNatsServer({ port: plan.client, config: `${lines.join("\n")}\n` });
          const named: TopologyServer = { ...server, name: plan.name, leafPort: plan.leaf, monitorPort: plan.monitor };
          started.push(named);
          return named;
        }),
      );
      out.set(cluster.name, servers);
    }
  } catch (error) {
    await Promise.all(started.map((server) => server.kill()));
    throw error;
  }
  return out;
}

/**
 * Starts a server that attaches to `hubs` as a leaf node (an edge LAN whose
 * clients reach the hubs' cluster through it): it reconnects among the hubs'
 * leaf ports.
 */
export async function startLeafServer(name: string, hubs: readonly TopologyServer[]): Promise<TopologyServer> {
  const urls = hubs.filter((hub) => hub.leafPort !== undefined).map((hub) => `"nats-leaf://${LEAF_USER}:${LEAF_USER}@127.0.0.1:${hub.leafPort}"`);
  if (urls.length === 0) throw new Error("a leaf server needs hubs that listen for leaf nodes");
  const monitor = await freePort();
  const config = [`server_name: "${name}"`, `http: "127.0.0.1:${monitor}"`, `leafnodes {`, `  reconnect: 1`, `  remotes: [ { urls: [${urls.join(", ")}] } ]`, `}`].join("\n");
  const server = await startNatsServer({ config: `${config}\n` });
  return { ...server, name, leafPort: undefined, monitorPort: monitor };
}
