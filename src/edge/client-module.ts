/**
 * The browser client as one ES module, served by the edge at
 * `GET /amoeba-client.js`: `amoeba/browser` and what it uses, bundled at
 * the first request (esbuild, some 50 ms) and kept in memory. A page loads
 * it with `import { connectEdge } from "/amoeba-client.js"`: no build step.
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

/** The bundled module, with an ETag of its text. */
export interface ClientModule {
  readonly text: string;
  readonly etag: string;
}

let bundled: Promise<ClientModule> | undefined;

/** The browser client, bundled once per process. */
export function clientModule(): Promise<ClientModule> {
  bundled ??= bundle().catch((error: unknown) => {
    // A failed bundle is not kept: the next request tries again.
    bundled = undefined;
    throw error;
  });
  return bundled;
}

async function bundle(): Promise<ClientModule> {
  const { build } = await import("esbuild");
  // The sources sit beside this file: .ts when run through tsx, .js once built.
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const entry = fileURLToPath(new URL(`../browser/index${extension}`, import.meta.url));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    // "browser": a node-only import in the client fails the bundle instead of reaching a page.
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  const text = result.outputFiles[0]!.text;
  return { text, etag: `"${createHash("sha256").update(text).digest("base64url").slice(0, 27)}"` };
}
