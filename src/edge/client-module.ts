/**
 * The browser client as one ES module, served by the edge at
 * `GET /amoeba-client.js`: `amoeba/browser` and what it uses. A page loads it
 * with `import { connectEdge } from "/amoeba-client.js"`: no build step.
 *
 * The package's build bundles it (dist/browser/amoeba-client.js, see
 * scripts/build.mjs), so an installed Amoeba reads that file and needs no
 * bundler at run time. Run from the TypeScript sources (a checkout), there is
 * no built file to trust, so the sources are bundled at the first request
 * with esbuild, a development dependency.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The bundled module, with an ETag of its text. */
export interface ClientModule {
  readonly text: string;
  readonly etag: string;
}

let bundled: Promise<ClientModule> | undefined;

/** The browser client, read (or, from the sources, bundled) once per process. */
export function clientModule(): Promise<ClientModule> {
  bundled ??= load()
    .then((text) => ({ text, etag: `"${createHash("sha256").update(text).digest("base64url").slice(0, 27)}"` }))
    .catch((error: unknown) => {
      // A failure is not kept: the next request tries again.
      bundled = undefined;
      throw error;
    });
  return bundled;
}

function load(): Promise<string> {
  if (!import.meta.url.endsWith(".ts")) return readFile(new URL("../browser/amoeba-client.js", import.meta.url), "utf8");
  return bundleSources();
}

async function bundleSources(): Promise<string> {
  // A variable specifier: the built package never loads, nor declares, esbuild.
  const bundler = "esbuild";
  const { build } = (await import(bundler)) as typeof import("esbuild");
  const result = await build({
    entryPoints: [fileURLToPath(new URL("../browser/index.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    // "browser": a node-only import in the client fails the bundle instead of reaching a page.
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  return result.outputFiles[0]!.text;
}
