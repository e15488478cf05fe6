/**
 * The browser entry of "amoeba" (src/shared.ts): what a contract file gets
 * under a bundler's `browser` condition. Its types are the full entry's, so
 * each of its exports must be the full entry's own value; and it must bundle
 * for a browser with nothing of Node.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import * as full from "../../src/index.ts";
import * as shared from "../../src/shared.ts";
import * as browser from "../../src/browser/index.ts";

describe("the browser entry of amoeba", () => {
  it("exports only what the full entry exports, as the same values", () => {
    assert.ok(Object.keys(shared).length >= 10);
    for (const [name, value] of Object.entries(shared)) {
      assert.equal((full as Record<string, unknown>)[name], value, `${name} differs from the full entry's`);
    }
  });

  it("exports what a contract file needs: contract, unary, stream, topic, service, RpcError …", () => {
    for (const name of ["contract", "unary", "stream", "clientStream", "bidiStream", "topic", "service", "RpcError", "isRpcError", "STATUS_CODES", "satisfies"]) {
      assert.equal(typeof (shared as Record<string, unknown>)[name], name === "STATUS_CODES" ? "object" : "function", name);
      // amoeba/browser offers the same helpers, the same values.
      assert.equal((browser as Record<string, unknown>)[name], (shared as Record<string, unknown>)[name], `amoeba/browser's ${name}`);
    }
  });

  it("bundles for a browser: no Node built-in is reachable from it", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../../src/shared.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.every((input) => !input.startsWith("node:")), inputs.join("\n"));
    assert.ok(!inputs.some((input) => input.endsWith("src/node.ts") || input.includes("src/transport/")), inputs.join("\n"));
  });
});
