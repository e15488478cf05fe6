// The figures tell the truth, checked in headless Chromium against real
// member processes with known traffic: front calls checkout.buy (whose
// handler calls calculator.add twice, one call after the other) and
// vault.open (which fails every call with FAILED_PRECONDITION). The vault's
// 100 % shows on its arrow, on its instance row, in `amoeba top` and in
// `amoeba ls --stats`; a checkout.buy trace has the right root, title, order
// and sub-millisecond offsets; the call form's example validates and an
// error shows whole. With AMOEBA_DOCS_SHOTS=1 the screenshots go to docs/images.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { it } from "node:test";
import type { Page } from "playwright-core";
import { CliProcess, runCli } from "../cli/support.ts";
import { artifactsDir, chromiumMissing, launchBrowser } from "../support/browser.ts";
import { requireOrSkip } from "../support/require.ts";
import { startMember } from "./members.ts";
import { onSteady, openTrace, until } from "./wait.ts";

const WAIT_MS = 45_000;

it("shows a method that fails every call at 100 %, and a nested call's trace as a tree", { timeout: 240_000 }, async (t) => {
  if (!requireOrSkip(t, chromiumMissing === undefined, chromiumMissing ?? "")) return;
  const cluster = `dash-figures-${process.pid}`;
  const calc = await startMember(t, { nodes: [{ name: "calc", cluster }], serve: "calculator" });
  const seeds = [calc.gossip];
  await Promise.all([
    startMember(t, { nodes: [{ name: "shop", cluster, seeds }], serve: "checkout" }),
    startMember(t, { nodes: [{ name: "vault", cluster, seeds }], serve: "vault" }),
  ]);
  await startMember(t, { nodes: [{ name: "front", cluster, seeds }], load: "shop" });

  const cli = new CliProcess(["dashboard", "--seeds", `${cluster}=${seeds[0]}`, "--port", "0", "--interval", "500"], (fn) => t.after(fn));
  const url = (await cli.waitFor(/^amoeba: dashboard on (http:\/\/127\.0\.0\.1:\d+\/) for /m))[1]!;
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  const ids = await idsByName(page, ["front", "vault", "shop", "calc"]);

  // The arrow front → vault: every call failed, whatever the caller's balancer thinks of the vault's health.
  const toVault = page.locator(`#graph .link[data-from="${ids.front}"][data-to="${ids.vault}"]`);
  await until(async () => /100\.0% err/.test((await page.locator(`#graph .link[data-from="${ids.front}"][data-to="${ids.vault}"] title`).textContent().catch(() => "")) ?? ""), "the vault's arrow at 100 %");
  assert.match((await toVault.getAttribute("class")) ?? "", /\bhot\b/, "a link that fails is red");
  // The shop's share shows once the callee's metrics have a window of calls ("- err" until then).
  const shopTitle = page.locator(`#graph .link[data-from="${ids.front}"][data-to="${ids.shop}"] title`);
  await until(async () => /\d\.\d% err/.test((await shopTitle.textContent().catch(() => "")) ?? ""), "the shop's arrow with its error share");
  const toShop = await shopTitle.textContent();
  assert.match(toShop ?? "", / 0\.0% err/, "checkout.buy succeeds");
  // Its instance row says the same.
  const vaultRow = page.locator('#catalog .service[data-service="vault"] tbody tr');
  await until(async () => /100\.0 %/.test((await vaultRow.first().textContent().catch(() => "")) ?? ""), "the vault's row at 100 %");
  assert.match((await vaultRow.textContent()) ?? "", /^vault/);

  // amoeba top and amoeba ls --stats: the same figure from the same source.
  const top = await runCli(["top", "--seeds", seeds[0]!, "--cluster", cluster, "--once", "--json", "--interval", "1s"], t.after.bind(t));
  assert.equal(top.code, 0, top.stderr);
  const frame = JSON.parse(top.stdout) as { methods: Array<{ service: string; method: string; errorRate: number; errors: Record<string, number> }> };
  const open = frame.methods.find((m) => m.service === "vault" && m.method === "open");
  assert.equal(open?.errorRate, 1, `top: ${top.stdout}`);
  assert.ok((open?.errors.FAILED_PRECONDITION ?? 0) > 0);
  assert.equal(frame.methods.find((m) => m.service === "checkout")?.errorRate, 0);
  const ls = await runCli(["ls", "vault", "--seeds", seeds[0]!, "--cluster", cluster, "--stats", "--json"], t.after.bind(t));
  assert.equal(ls.code, 0, ls.stderr);
  const listed = JSON.parse(ls.stdout) as { services: Array<{ instances: Array<{ stats: { errorRate: number; served: number } }> }> };
  assert.equal(listed.services[0]!.instances[0]!.stats.errorRate, 1, ls.stdout);
  await page.screenshot({ path: join(shots(), "topology.png"), fullPage: false });

  // A checkout.buy trace: front's client span is the root and names it; the two adds follow one another.
  const trace = page.locator('#recent details.trace:has(.trace-title:text-is("checkout.buy")):has(.span-row[data-depth="3"])').first();
  await trace.waitFor({ timeout: WAIT_MS });
  await openTrace(trace);
  const rows = await trace.locator(".span-row").evaluateAll((elements) =>
    elements.map((e) => ({
      kind: e.getAttribute("data-kind"),
      depth: Number(e.getAttribute("data-depth")),
      offset: Number(e.getAttribute("data-offset")),
      name: e.querySelector(".span-name")?.textContent,
      label: e.querySelector(".span-label")?.textContent,
    })),
  );
  assert.deepEqual(
    rows.map((r) => `${r.depth} ${r.kind} ${r.name}`),
    ["0 client checkout.buy", "1 server checkout.buy", "2 client calculator.add", "3 server calculator.add", "2 client calculator.add", "3 server calculator.add"],
  );
  assert.match(rows[0]!.label ?? "", /front → shop/);
  assert.equal(rows[0]!.offset, 0);
  assert.ok(rows[4]!.offset > rows[2]!.offset, `the second add starts after the first: ${rows.map((r) => r.offset).join(", ")}`);
  assert.ok(rows.some((r) => r.offset > 0 && !Number.isInteger(r.offset)), `offsets keep fractions of a millisecond: ${rows.map((r) => r.offset).join(", ")}`);
  await onSteady(async () => {
    await trace.scrollIntoViewIfNeeded();
    await trace.screenshot({ path: join(shots(), "trace.png") });
  });

  // The form's example for checkout.buy validates, so the first call succeeds.
  await page.selectOption("#call-method", { label: "checkout.buy" });
  assert.deepEqual(JSON.parse(await page.inputValue("#call-input")), { qty: 1 });
  assert.match((await page.locator("#call-type").textContent()) ?? "", /qty: number;  \/\/ integer, 1 to 9/);
  await page.click("#call-submit");
  await page.locator('#call-result[data-state="ok"]').waitFor({ timeout: WAIT_MS });
  assert.match((await page.locator("#call-result").textContent()) ?? "", /^3\n/);
  // An error shows whole: its code, its whole message, nothing cut off.
  await page.selectOption("#call-method", { label: "vault.open" });
  await page.click("#call-submit");
  await page.locator('#call-result[data-state="error"]').waitFor({ timeout: WAIT_MS });
  const result = page.locator("#call-result");
  assert.match((await result.textContent()) ?? "", /^FAILED_PRECONDITION: .*the vault is sealed: every call fails, on purpose, so that its error rate is 100 %/);
  const clipped = await result.evaluate((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1);
  assert.equal(clipped, false, "the error is not clipped");
  await page.locator("#call-form").scrollIntoViewIfNeeded();
  await onSteady(() => page.locator("#call-form").locator("..").screenshot({ path: join(shots(), "call-error.png") }));

  assert.deepEqual(errors, [], "the page ran without errors");
});

/** Where screenshots go: the test's artifacts, and docs/images when AMOEBA_DOCS_SHOTS=1. */
function shots(): string {
  return resolve(artifactsDir("dashboard-figures"));
}

/** Each named node's id, once all are drawn. */
async function idsByName(page: Page, names: string[]): Promise<Record<string, string>> {
  const selector = names.map((name) => `#graph .node[data-name="${name}"]`).join(", ");
  await until(async () => (await page.locator(selector).count()) === names.length, `nodes ${names.join(", ")}`);
  const out: Record<string, string> = {};
  for (const name of names) out[name] = (await page.locator(`#graph .node[data-name="${name}"]`).getAttribute("data-id"))!;
  return out;
}

process.on("exit", () => {
  if (process.env.AMOEBA_DOCS_SHOTS !== "1") return;
  const docs = resolve("docs/images");
  mkdirSync(docs, { recursive: true });
  for (const name of ["topology.png", "trace.png", "call-error.png"]) {
    try {
      copyFileSync(join(shots(), name), join(docs, `dashboard-${name}`));
    } catch {
      // A shot the run did not reach is not copied.
    }
  }
});
