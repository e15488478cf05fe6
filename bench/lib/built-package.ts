import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// A file: URL, which has no spaces for NODE_OPTIONS to split at.
const HOOK = new URL("./use-built.mjs", import.meta.url).href;

/**
 * Builds dist/ and makes every process the bench starts from here on load
 * Amoeba from it, not from src/: the figures are those of the package as it
 * is installed (tsc's output), not of tsx's on-the-fly compile, which wraps
 * every closure made at run time in a naming call.
 */
export function useBuiltPackage(progress: (line: string) => void): void {
  progress("building dist/ (the bench measures the built package)");
  const build = spawnSync(process.execPath, [fileURLToPath(new URL("../../scripts/build.mjs", import.meta.url))], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  if (build.status !== 0) throw new Error(`bench: building dist/ failed (exit ${build.status})`);
  const hook = `--import=${HOOK}`;
  const options = process.env.NODE_OPTIONS ?? "";
  if (!options.includes(hook)) process.env.NODE_OPTIONS = `${options} ${hook}`.trim();
}
