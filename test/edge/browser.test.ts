// The browser client in headless Chromium: a page loads /amoeba-client.js
// from the edge (no build step), defines the contract, and calls over one
// WebSocket — unary calls, a server stream as an async iterable, client and
// bidirectional streams, typed errors, metadata both ways, a stream the page
// stops reading (the handler's ctx.signal fires), an AbortSignal, a deadline.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { within } from "../conformance/helpers.ts";
import { chromiumMissing, launchBrowser, type TestBrowser } from "../support/browser.ts";
import { requireOrSkip } from "../support/require.ts";
import { startShopEdge } from "./fixture.ts";

/**
 * Runs `body` in the page as an async function with `A` (the client module),
 * `shop` (a client of the shop contract) and `edge` (the connection) in scope.
 * A string, not a function: the page runs it exactly as written.
 */
function inPage(page: Page, body: string): Promise<any> {
  return page.evaluate(`(async () => { const { A, shop, edge } = window.amoeba; ${body} })()`);
}

/** Loads the client in the page and connects; the contract is declared with plain schemas (the callee validates). */
const SETUP = `(async () => {
  const A = await import("/amoeba-client.js");
  const any = A.plainSchema(() => null);
  const spec = { input: any, output: any };
  const Shop = A.contract("shop", "1.2.0", {
    add: A.unary(spec), fail: A.unary(spec), sleep: A.unary(spec), echoMeta: A.unary(spec),
    count: A.stream(spec), forever: A.stream(spec), sum: A.clientStream(spec), double: A.bidiStream(spec),
  });
  const edge = await A.connectEdge(location.origin, { credit: 8 });
  window.amoeba = { A, edge, shop: edge.client(Shop) };
})()`;

describe("edge: the browser client in Chromium", () => {
  let browser: TestBrowser | undefined;
  let page: Page;
  let t: Awaited<ReturnType<typeof startShopEdge>>;
  before(async () => {
    if (chromiumMissing === undefined) browser = await launchBrowser();
  });
  after(() => browser?.close());
  beforeEach(async () => {
    // Without Chromium each test skips itself (or fails, when every prerequisite is required).
    if (browser === undefined) return;
    t = await startShopEdge({ limits: { inputStreamWindow: 4 } });
    page = await browser!.browser.newPage();
    // Same origin as the edge: the page may open its WebSocket.
    await page.goto(`${t.url}/healthz`);
    await page.evaluate(SETUP);
  });
  afterEach(async () => {
    if (!browser) return;
    await page.close();
    await t.close();
  });

  it("makes unary calls, typed errors carrying the code, message and details", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    assert.equal(await inPage(page, "return await shop.add({ a: 1, b: 2 });"), 3);
    const notFound = await inPage(page, `try { await shop.fail({ code: "NOT_FOUND", message: "no such order" }); return "resolved"; }
      catch (e) { return { rpc: e instanceof A.RpcError && A.isRpcError(e), name: e.name, code: e.code, message: e.message, target: e.target, details: e.details }; }`);
    assert.deepEqual(notFound, { rpc: true, name: "RpcError", code: "NOT_FOUND", message: "no such order", target: "shop.fail", details: { hint: "from the handler" } });
    const invalid = await inPage(page, `try { await shop.add({ a: "x", b: 2 }); } catch (e) { return { code: e.code, path: e.details.issues[0].path }; }`);
    assert.deepEqual(invalid, { code: "INVALID_ARGUMENT", path: "a" });
  });

  it("reads a server stream as an async iterable", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    // 30 items with 8 of credit: the page grants more as it reads.
    const items = await inPage(page, "const out = []; for await (const n of shop.count({ to: 30 })) out.push(n); return out;");
    assert.deepEqual(items, Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("sends client and bidirectional streams from async generators, as the edge grants credit", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    const sum = await inPage(page, "async function* upTo(n) { for (let i = 1; i <= n; i++) yield i; } return await shop.sum(upTo(50));");
    assert.equal(sum, 1275);
    const doubled = await inPage(page, "const out = []; for await (const n of shop.double([1, 2, 3])) out.push(n); return out;");
    assert.deepEqual(doubled, [2, 4, 6]);
  });

  it("sends metadata and receives the handler's response metadata", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    const got = await inPage(page, `let meta; const seen = await shop.echoMeta({ set: { "x-served-by": "shop-node" } },
      { meta: { "x-request-id": "r-7" }, onMeta: (m) => { meta = m; } }); return { seen: seen["x-request-id"], meta };`);
    assert.deepEqual(got, { seen: "r-7", meta: { "x-served-by": "shop-node" } });
  });

  it("cancels a stream the page stops reading: the handler's ctx.signal fires", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    const read = await inPage(page, "let n = 0; for await (const x of shop.forever({})) { if (++n === 3) break; } return n;");
    assert.equal(read, 3);
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
    assert.equal(await inPage(page, "return edge.pending;"), 0);
  });

  it("cancels a call with an AbortSignal", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    const code = await inPage(page, `const ac = new AbortController(); const call = shop.sleep({ ms: 60000 }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50); try { await call; } catch (e) { return e.code; }`);
    assert.equal(code, "CANCELLED");
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "CANCELLED");
  });

  it("respects a deadline: DEADLINE_EXCEEDED in the page, and the handler's signal fires", async (c) => {
    if (!requireOrSkip(c, browser !== undefined, chromiumMissing ?? "")) return;
    const code = await inPage(page, "try { await shop.sleep({ ms: 60000 }, { timeout: 150 }); } catch (e) { return e.code; }");
    assert.equal(code, "DEADLINE_EXCEEDED");
    assert.equal(await within(t.seen.aborted.promise, 10_000, "the handler's signal fires"), "DEADLINE_EXCEEDED");
  });
});
