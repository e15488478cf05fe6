// The page's tools in headless Chromium against a real node: at 800 px the
// topology keeps a readable scale (it pans rather than shrinks), zoom and
// pan move the view and keep it across updates, and the recent calls can be
// searched by service or method, status and shortest duration, and a served
// call's kept input, output and log lines show in its trace.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Calculator, handlers } from "../../examples/calculator/service.ts";
import { startDashboard } from "../../src/dashboard/index.ts";
import { RpcError, startNode } from "../../src/index.ts";
import { chromiumMissing, launchBrowser } from "../support/browser.ts";
import { requireOrSkip } from "../support/require.ts";
import { openTrace, until } from "./wait.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

it("stays readable at 800 px, zooms and pans, and searches the recent calls", { timeout: 120_000 }, async (t) => {
  if (!requireOrSkip(t, chromiumMissing === undefined, chromiumMissing ?? "")) return;
  const cluster = `dash-tools-${process.pid}`;
  const node = await startNode({ name: "calc", cluster, listen: "tcp://127.0.0.1:0", logger: silent, metrics: true, traces: { recent: 200, bodies: 200, logs: 5 }, lookup: { gossip: "udp://127.0.0.1:0" } });
  t.after(() => node.close({ timeout: 1_000 }));
  // The calculator keeps its calls' bodies and log lines (it opted in); its add logs one.
  node.serve(Calculator, {
    ...handlers,
    add: (input, ctx) => {
      ctx.log.info({ a: input.a, b: input.b }, "adding");
      return handlers.add(input, ctx);
    },
  });
  const caller = await startNode({ name: "front", cluster, listen: "tcp://127.0.0.1:0", logger: silent, traces: { recent: 200 }, lookup: { gossip: "udp://127.0.0.1:0" }, seeds: [node.gossipAddress!] });
  t.after(() => caller.close({ timeout: 1_000 }));
  const found = Date.now() + 20_000;
  while (caller.lookup(Calculator).length === 0 && Date.now() < found) await new Promise((resolve) => setTimeout(resolve, 50));
  const calculator = caller.client(Calculator);
  for (let i = 0; i < 5; i++) await calculator.add({ a: i, b: 1 });
  await calculator.sleep({ ms: 600 });
  await assert.rejects(calculator.sleep({ ms: 2_000 }, { timeout: 1_000 }), (error: RpcError) => error.code === "DEADLINE_EXCEEDED");
  const dashboard = await startDashboard({ nodes: [{ node: caller, hidden: false }], port: 0, interval: 300 });
  t.after(() => dashboard.close());

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.browser.newPage({ viewport: { width: 800, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(dashboard.url);
  await page.locator('#graph .node[data-name="calc"]').waitFor({ timeout: 30_000 });

  const viewBox = async (): Promise<number[]> => ((await page.locator("#graph svg").getAttribute("viewBox")) ?? "").split(" ").map(Number);
  await until(async () => (await viewBox()).length === 4, "the topology's view");
  // The drawing is redrawn as figures arrive: measure one that has been laid out.
  // (each redraw puts in a new svg: both figures are read from one, once it has a width)
  let shown = 0;
  let width = 0;
  await until(async () => {
    [shown, width] = await page
      .locator("#graph svg")
      .evaluate((svg) => [svg.clientWidth, Number(svg.getAttribute("viewBox")!.split(" ")[2])])
      .catch(() => [0, 0]);
    return shown > 0;
  }, "a laid-out drawing");
  assert.ok(shown! / width! >= 0.75, `at 800 px the drawing keeps at least 3/4 of its size (${shown} px for ${width})`);
  assert.ok(shown! <= 800, "and fits the window");
  const before = await viewBox();
  await page.click("#zoom-in");
  const zoomed = await viewBox();
  assert.ok(zoomed[2]! < before[2]!, `zooming in shows less: ${before} → ${zoomed}`);
  const box = (await page.locator("#graph").boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 100);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 120, box.y + 100, { steps: 4 });
  await page.mouse.up();
  const panned = await viewBox();
  assert.ok(panned[0]! > zoomed[0]! + 50, `dragging left pans right: ${zoomed} → ${panned}`);
  await page.waitForTimeout(800);
  assert.deepEqual(await viewBox(), panned, "the view stays across updates");
  await page.click("#zoom-reset");
  assert.deepEqual(await viewBox(), before);

  // Search the recent calls.
  await page.locator("#recent details.trace").first().waitFor({ timeout: 30_000 });
  const titles = async (): Promise<string[]> => page.locator("#recent details.trace .trace-title").allTextContents();
  await until(async () => (await page.locator("#recent details.trace").count()) >= 7, "the seven traces");
  await page.fill("#trace-service", "sleep");
  assert.deepEqual([...new Set(await titles())], ["calculator.sleep"]);
  await page.selectOption("#trace-status", "failed");
  const failed = page.locator("#recent details.trace");
  assert.equal(await failed.count(), 1, "the one that ran past its deadline");
  assert.match((await failed.first().textContent()) ?? "", /DEADLINE_EXCEEDED/);
  await page.selectOption("#trace-status", "");
  await page.fill("#trace-service", "");
  // 500 ms: far above what an add takes even on a loaded machine, below both sleeps.
  await page.fill("#trace-min", "500");
  const slow = await page.locator("#recent details.trace").count();
  assert.equal(slow, 2, "the two sleeps last 500 ms or more; the adds do not");
  await page.fill("#trace-min", "100000");
  assert.match((await page.locator("#recent").textContent()) ?? "", /no recent trace matches the search/);
  await page.fill("#trace-min", "");

  // An add's trace shows what the calculator kept: the input, the output and the handler's line.
  await page.fill("#trace-service", "add");
  const add = page.locator("#recent details.trace").last();
  await openTrace(add);
  const served = add.locator('.span-row[data-kind="server"]');
  assert.equal(await served.locator('.span-body[data-part="input"] code').textContent(), '{"a":0,"b":1}');
  assert.equal(await served.locator('.span-body[data-part="output"] code').textContent(), "1");
  assert.match((await served.locator(".span-log").textContent()) ?? "", /info adding \{"a":0,"b":1\}$/);
  assert.equal(await add.locator('.span-row[data-kind="client"] .span-details').count(), 0, "the caller kept none: it did not opt in");
  assert.deepEqual(errors, [], "the page ran without errors");
});
