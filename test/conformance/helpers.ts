/**
 * Small helpers shared by the conformance suite and the RPC semantics tests:
 * bounded waiting, promises resolved from outside, a logger that records,
 * and throwaway certificates made with the openssl CLI.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { RpcError, type Logger } from "../../src/index.ts";

export { sleep };

/** A promise with its resolve and reject at hand. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const out: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      out.settled = true;
      resolve(value);
    },
    reject: (error) => {
      out.settled = true;
      reject(error);
    },
  };
  promise.catch(() => {});
  return out;
}

/** Resolves with `promise`'s value, or fails with "`what` did not happen within `ms` ms". */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `predicate` every few ms until it holds; fails after `ms` ms. */
export async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`${what}: did not happen within ${ms} ms`);
    await sleep(5);
  }
}

/** A promise that settles when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

/** A logger that keeps what it is told, so tests stay quiet and can look at warnings. */
export interface RecordingLogger extends Logger {
  records: Array<{ level: string; obj: object; msg: string | undefined }>;
}

export function recordingLogger(): RecordingLogger {
  const records: RecordingLogger["records"] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    records.push({ level, obj, msg });
  };
  return { records, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Bytes of `size` filled with a pattern derived from `seed`, so content can be checked. */
export function pattern(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Whether `bytes` is exactly `pattern(size, seed)`. */
export function isPattern(bytes: Uint8Array, size: number, seed = 0): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== size) return false;
  for (let i = 0; i < size; i++) if (bytes[i] !== ((i * 31 + seed * 7) & 0xff)) return false;
  return true;
}

/** Whether a command is on the PATH. */
export function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/** PEM certificates and keys for TLS tests, all valid for one day. */
export interface Certs {
  /** The CA that signed the server and client certificates. */
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  /** A client certificate from the same CA with another name (`amoeba-stranger`): trusted, but not who a policy names. */
  stranger: { cert: string; key: string };
  /** A certificate (`amoeba-node`, valid for 127.0.0.1) for both ends: a node that serves and dials with it. */
  node: { cert: string; key: string };
  /** A client certificate from another CA, which the server must not accept. */
  rogueClient: { cert: string; key: string };
  /** That other CA. */
  rogueCa: string;
}

/** Makes throwaway certificates with the openssl CLI (EC P-256). */
export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "amoeba-certs-"));
  const file = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    const makeCa = (name: string, cn: string) =>
      run("req", "-x509", ...newKey, "-keyout", file(`${name}.key`), "-out", file(`${name}.crt`), "-days", "1", "-subj", `/CN=${cn}`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    const makeLeaf = (name: string, ca: string, cn: string, extensions: string) => {
      run("req", ...newKey, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=${cn}`);
      writeFileSync(file(`${name}.ext`), extensions);
      run("x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${ca}.crt`), "-CAkey", file(`${ca}.key`), "-CAcreateserial",
        "-out", file(`${name}.crt`), "-days", "1", "-extfile", file(`${name}.ext`));
    };
    makeCa("ca", "Amoeba Test CA");
    makeCa("rogue-ca", "Some Other CA");
    makeLeaf("server", "ca", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    makeLeaf("client", "ca", "amoeba-client", "extendedKeyUsage=clientAuth\n");
    makeLeaf("stranger", "ca", "amoeba-stranger", "extendedKeyUsage=clientAuth\n");
    makeLeaf("node", "ca", "amoeba-node", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
    makeLeaf("rogue-client", "rogue-ca", "amoeba-client", "extendedKeyUsage=clientAuth\n");
    const read = (name: string) => readFileSync(file(name), "utf8");
    return {
      ca: read("ca.crt"),
      server: { cert: read("server.crt"), key: read("server.key") },
      client: { cert: read("client.crt"), key: read("client.key") },
      stranger: { cert: read("stranger.crt"), key: read("stranger.key") },
      node: { cert: read("node.crt"), key: read("node.key") },
      rogueClient: { cert: read("rogue-client.crt"), key: read("rogue-client.key") },
      rogueCa: read("rogue-ca.crt"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The RpcError `promise` rejects with; fails when it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    const value = await within(promise, 10_000, "the call settles");
    assert.fail(`expected the call to fail, it returned ${String(JSON.stringify(value)).slice(0, 200)}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    if (!(error instanceof RpcError)) throw new assert.AssertionError({ message: `expected an RpcError, got ${String(error)}`, actual: error });
    return error;
  }
}
