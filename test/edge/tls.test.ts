// HTTPS at the edge: startEdge({ tls }) and `amoeba edge --tls-cert --tls-key`
// serve HTTPS and WSS with throwaway certificates made with openssl; plain
// HTTP on that port gets no answer and the edge serves on; a bad certificate
// option is a clear TypeError before anything starts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { startEdge } from "../../src/edge/index.ts";
import { connectEdge, type WebSocketConstructor } from "../../src/browser/index.ts";
import { CliProcess } from "../cli/support.ts";
import { hasCommand, makeCerts, within, type Certs } from "../conformance/helpers.ts";
import { requireOrSkip } from "../support/require.ts";
import { http, newSeen, Shop, shopHandlers, startShopEdge } from "./fixture.ts";
import { startNode } from "../../src/index.ts";

const openssl = hasCommand("openssl");
const certs: Certs | undefined = openssl ? makeCerts() : undefined;
const missing = "the openssl CLI is needed to make test certificates";

/** POST /rpc/<service>/<method> over HTTPS, trusting `ca`. */
function httpsRpc(url: string, path: string, body: unknown, ca: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: "POST", ca, agent: false, headers: { "content-type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The ws package's WebSocket, trusting `ca`, in the shape the browser client takes. */
function trustingWebSocket(ca: string): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { ca });
    }
  };
}

describe("edge: HTTPS", () => {
  it("serves HTTPS and WSS with a certificate, and plain HTTP on the port gets no answer", async (t) => {
    if (!requireOrSkip(t, certs !== undefined, missing)) return;
    const shop = await startShopEdge({ tls: certs!.server });
    t.after(() => shop.close());
    assert.match(shop.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await httpsRpc(shop.url, "/rpc/shop/add", { a: 2, b: 3 }, certs!.ca);
    assert.deepEqual(answer, { status: 200, json: 5 });
    const edge = await connectEdge(shop.url, { WebSocket: trustingWebSocket(certs!.ca) });
    t.after(() => edge.close());
    assert.equal(await edge.client(Shop).add({ a: 4, b: 4 }), 8);
    // Plain HTTP to the TLS port: no HTTP answer; the edge keeps serving.
    await assert.rejects(within(http(shop.url.replace("https:", "http:"), "/healthz"), 10_000, "the plain request ends"));
    assert.equal((await httpsRpc(shop.url, "/rpc/shop/add", { a: 1, b: 1 }, certs!.ca)).json, 2);
  });

  it("refuses a client that does not trust the certificate", async (t) => {
    if (!requireOrSkip(t, certs !== undefined, missing)) return;
    const shop = await startShopEdge({ tls: certs!.server });
    t.after(() => shop.close());
    await assert.rejects(httpsRpc(shop.url, "/rpc/shop/add", { a: 2, b: 3 }, certs!.rogueCa), /self-signed|unable to verify|certificate/i);
  });

  it("refuses a missing or unusable certificate or key with a TypeError, before starting a node", async (t) => {
    if (!requireOrSkip(t, certs !== undefined, missing)) return;
    const bad: unknown[] = [{ cert: certs!.server.cert }, { key: certs!.server.key }, { cert: "not pem", key: "not pem" }, null];
    for (const tls of bad) {
      await assert.rejects(startEdge({ port: 0, tls: tls as never, connect: [] }), TypeError, JSON.stringify(tls));
    }
    // PEM-looking text that is no certificate: node refuses it; the edge says which option.
    const node = await startNode({ name: "tls-bad" });
    t.after(() => node.close({ timeout: 1_000 }));
    await assert.rejects(startEdge({ node, port: 0, tls: { cert: "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n", key: certs!.server.key } }), /edge tls/);
  });

  it("amoeba edge --tls-cert --tls-key serves HTTPS", async (t) => {
    if (!requireOrSkip(t, certs !== undefined, missing)) return;
    const backend = await startNode({ name: "tls-backend", listen: "tcp://127.0.0.1:0" });
    t.after(() => backend.close({ timeout: 1_000 }));
    backend.serve(Shop, shopHandlers(newSeen()));
    const dir = mkdtempSync(join(tmpdir(), "amoeba-edge-tls-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "edge.crt"), certs!.server.cert);
    writeFileSync(join(dir, "edge.key"), certs!.server.key);
    const edge = new CliProcess(
      ["edge", "--connect", backend.addresses[0]!, "--port", "0", "--name", "edge-tls", "--rate-limit", "off", "--tls-cert", join(dir, "edge.crt"), "--tls-key", join(dir, "edge.key")],
      (fn) => t.after(fn),
    );
    const url = (await edge.waitFor(/^amoeba: edge edge-tls serving HTTPS and WSS on (https:\/\/127\.0\.0\.1:\d+) for /m))[1]!;
    assert.deepEqual(await httpsRpc(url, "/rpc/shop/add", { a: 20, b: 22 }, certs!.ca), { status: 200, json: 42 });
  });
});
