// `amoeba dashboard` and `amoeba edge --dashboard`: the command line (seeds
// named by cluster, mistakes as usage errors), and the edge serving the page
// of its own cluster beside it, with real `serve` and `edge` processes, and
// the end users in front of it drawn from its real clients (in Chromium).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { planDashboard } from "../../src/cli/dashboard.ts";
import { UsageError } from "../../src/cli/errors.ts";
import { DASHBOARD } from "../../src/cli/usage.ts";
import type { DashboardSnapshot } from "../../src/dashboard/index.ts";
import { CliProcess, eventually, isolateRendezvous, runCli, startMember, uniqueCluster } from "../cli/support.ts";
import { join } from "node:path";
import { artifactsDir, chromiumMissing, launchBrowser } from "../support/browser.ts";
import { requireOrSkip } from "../support/require.ts";
import { until } from "./wait.ts";

const plan = (argv: string[]) => planDashboard(parseCommandArgs(DASHBOARD, argv));

describe("amoeba dashboard's command line", () => {
  it("groups seeds by the cluster they name, one look-up per cluster", () => {
    const { clusters, port, host } = plan(["--seeds", "core=udp://127.0.0.1:7000,udp://127.0.0.1:7001", "--seeds", "region=udp://127.0.0.1:7100"]);
    assert.deepEqual(
      clusters.map((c) => [c.cluster, c.seeds]),
      [
        ["core", ["udp://127.0.0.1:7000", "udp://127.0.0.1:7001"]],
        ["region", ["udp://127.0.0.1:7100"]],
      ],
    );
    assert.equal(port, 8090);
    assert.equal(host, "127.0.0.1");
  });

  it("takes plain seeds for --cluster, as the other commands do", () => {
    const { clusters } = plan(["--seeds", "udp://127.0.0.1:7000", "--cluster", "shop", "--port", "0", "--interval", "250"]);
    assert.deepEqual(clusters.map((c) => [c.cluster, c.seeds]), [["shop", ["udp://127.0.0.1:7000"]]]);
  });

  it("refuses mistakes with a usage error", () => {
    for (const [argv, message] of [
      [[], /needs a cluster to show/],
      [["--seeds", "core=tcp://127.0.0.1:7000"], /gossip address udp:\/\/host:port/],
      [["--seeds", "core=udp://127.0.0.1:7000", "--registry", "tcp://127.0.0.1:7500"], /--registry does not go with seeds named by cluster/],
      [["--cluster", "shop", "--interval", "5"], /at least 100 ms/],
      [["--cluster", "shop", "--port", "99999"], /--port takes a port number/],
      [["--cluster", "shop", "extra"], /takes no arguments/],
    ] as const) {
      assert.throws(() => plan([...argv]), (error: unknown) => error instanceof UsageError && message.test(error.message), argv.join(" "));
    }
  });
});

describe("amoeba edge --dashboard", () => {
  isolateRendezvous();

  it("serves the page of the edge's cluster, the edge drawn as such, its recent calls, and stops with the edge", async (t) => {
    const cluster = uniqueCluster("dashboard");
    const cleanup = t.after.bind(t);
    await startMember(["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-d", "--recent-calls", "50"], cleanup);
    const edge = new CliProcess(["edge", "--cluster", cluster, "--port", "0", "--name", "edge-d", "--dashboard", "0", "--recent-calls", "50", "--rate-limit", "off"], cleanup);
    const url = (await edge.waitFor(/^amoeba: dashboard on (http:\/\/127\.0\.0\.1:\d+\/)$/m))[1]!;
    const snapshot = await eventually(
      "a snapshot with the edge and the calculator",
      async () => {
        const seen = (await (await fetch(new URL("/api/snapshot", url))).json()) as DashboardSnapshot;
        const nodes = seen.clusters[0]?.nodes ?? [];
        return nodes.some((n) => n.name === "calc-d") && nodes.some((n) => n.name === "edge-d") ? seen : undefined;
      },
      30_000,
    );
    assert.equal(snapshot.clusters[0]!.nodes.find((n) => n.name === "edge-d")?.edge, true);
    assert.equal(snapshot.clusters[0]!.nodes.find((n) => n.name === "calc-d")?.edge, false);

    // The edge's own node listens nowhere, yet its recent calls show beside the calculator's.
    const edgeUrl = (await edge.waitFor(/on (http:\/\/127\.0\.0\.1:\d+) for/))[1]!;
    const trace = await eventually(
      "a trace of an HTTP call through the edge, with both of its sides",
      async () => {
        await fetch(`${edgeUrl}/rpc/calculator/add`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1,"b":2}' });
        const seen = (await (await fetch(new URL("/api/snapshot", url))).json()) as DashboardSnapshot;
        return seen.recentCalls.traces.find((each) => each.spans.some((span) => span.node === "edge-d") && each.spans.some((span) => span.node === "calc-d"));
      },
      30_000,
    );
    assert.deepEqual(
      trace.spans.map((span) => [span.node, span.kind, `${span.service}.${span.method}`, span.depth]),
      [
        ["edge-d", "client", "calculator.add", 0],
        ["calc-d", "server", "calculator.add", 1],
      ],
    );
    edge.kill("SIGTERM");
    const finished = await edge.exited();
    assert.equal(finished.code, 0, finished.stderr);
    await assert.rejects(fetch(new URL("/api/snapshot", url)), "the dashboard stopped with the edge");
  });

  it("draws the end users in front of the edge from its real clients: how many, their calls per second, their errors", { timeout: 120_000 }, async (t) => {
    if (!requireOrSkip(t, chromiumMissing === undefined, chromiumMissing ?? "")) return;
    const cluster = uniqueCluster("dashboard-users");
    const cleanup = t.after.bind(t);
    await startMember(["examples/calculator/service.ts", "--listen", "tcp://127.0.0.1:0", "--cluster", cluster, "--name", "calc-u"], cleanup);
    const edge = new CliProcess(["edge", "--cluster", cluster, "--port", "0", "--name", "edge-u", "--dashboard", "0", "--rate-limit", "off", "--trust-proxy"], cleanup);
    const url = (await edge.waitFor(/^amoeba: dashboard on (http:\/\/127\.0\.0\.1:\d+\/)$/m))[1]!;
    const edgeUrl = (await edge.waitFor(/on (http:\/\/127\.0\.0\.1:\d+) for/))[1]!;
    await edge.waitFor(/public services now: .*calculator/);
    // Three end users (their addresses, as a proxy in front says), each adding; one also sends an input the schema refuses.
    const call = (client: string, method: string, input: unknown) =>
      fetch(`${edgeUrl}/rpc/calculator/${method}`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": client }, body: JSON.stringify(input) }).catch(() => undefined);
    let stop = false;
    const load = (async () => {
      for (let round = 0; !stop && round < 400; round++) {
        await Promise.all(["203.0.113.1", "203.0.113.2", "203.0.113.3"].map((client) => call(client, "add", { a: round, b: 1 })));
        await call("203.0.113.3", "add", { a: "one", b: 0 });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const stopLoad = async (): Promise<void> => {
      stop = true;
      await load;
    };
    t.after(stopLoad);
    const users = await eventually(
      "the snapshot's end users in front of the edge",
      async () => {
        const seen = (await (await fetch(new URL("/api/snapshot", url))).json()) as DashboardSnapshot;
        const front = seen.endUsers[0];
        return front !== undefined && front.clients === 3 && front.callsPerSecond > 0 && front.errorRate !== null && front.errorRate > 0 ? { seen, front } : undefined;
      },
      45_000,
    );
    const edgeId = users.seen.clusters[0]!.nodes.find((n) => n.name === "edge-u")!.id;
    assert.equal(users.front.edge, edgeId);
    // One call in four fails (INVALID_ARGUMENT at the calculator): the share the links measure.
    assert.ok(users.front.errorRate! > 0.1 && users.front.errorRate! < 0.4, `error rate ${users.front.errorRate}`);

    const browser = await launchBrowser();
    t.after(() => browser.close());
    const page = await browser.browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(url);
    const drawn = page.locator(`#graph .clients[data-edge="${edgeId}"]`);
    await until(async () => ((await drawn.locator(".users-count").textContent().catch(() => "")) ?? "") === "3", "the page draws 3 end users");
    assert.match((await drawn.locator(".users-figures").textContent()) ?? "", /^\d+\.\d\/s · \d+\.\d% err$/);
    assert.match((await drawn.locator("title").textContent()) ?? "", /^3 distinct end users in the last 60 s; /);
    assert.match((await drawn.getAttribute("class")) ?? "", /\bhot\b/, "failing calls make the end users' line red");
    // The end users' line reaches the edge without passing through any other node.
    const d = (await drawn.locator("path").getAttribute("d")) ?? "";
    const [x1, y1, x2, y2] = (d.match(/-?[\d.]+/g) ?? []).map(Number) as [number, number, number, number];
    const others = await page.locator("#graph .node").evaluateAll((nodes) => nodes.map((node) => [node.getAttribute("data-id"), node.getAttribute("data-name"), node.getAttribute("transform")]));
    const crossed = others
      .filter(([id]) => id !== edgeId)
      .filter(([, , transform]) => {
        const [cx, cy] = (/translate\(([-\d.]+),([-\d.]+)\)/.exec(transform ?? "") ?? []).slice(1).map(Number) as [number, number];
        // Distance from the node's centre to the segment.
        const t = Math.max(0, Math.min(1, ((cx - x1) * (x2 - x1) + (cy - y1) * (y2 - y1)) / ((x2 - x1) ** 2 + (y2 - y1) ** 2)));
        return Math.hypot(cx - (x1 + t * (x2 - x1)), cy - (y1 + t * (y2 - y1))) < 24;
      })
      .map(([, name]) => name);
    assert.deepEqual(crossed, [], "no node on the end users' line");
    const shot = join(artifactsDir("dashboard-end-users"), "end-users.png");
    await page.locator("#graph").screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    await stopLoad();
  });

  it("fails with exit 3 when no node of the cluster answers", async (t) => {
    const result = await runCli(["dashboard", "--seeds", "lonely=udp://127.0.0.1:9", "--port", "0"], t.after.bind(t));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /no node of cluster "lonely" answered/);
  });
});
