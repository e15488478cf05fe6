/**
 * TLS from the command line: `--tls-cert`, `--tls-key` and `--tls-ca`, read
 * as a command that listens needs them (serve, registry, gateway) or as one
 * that dials (call, ls, describe, …). The files are read and checked here,
 * so a mistake is a usage error (exit 2) before anything starts.
 */
import type { TlsClientOptions, TlsServerOptions } from "../index.ts";
import { stringOption, type ParsedArgs } from "./args.ts";
import { UsageError } from "./errors.ts";
import { readCertificates, readKeyPair } from "./pem-file.ts";

/** The TLS of a command that listens: for its listeners, and for the TCP connections it dials itself. */
export interface ServerTls {
  /** Its certificate; with `--tls-ca`, callers must present one that chains to it (mutual TLS). */
  readonly server: TlsServerOptions;
  /** The same certificate, presented to the nodes it dials, which it verifies against `--tls-ca` (else the system's CAs). */
  readonly client: TlsClientOptions;
}

/**
 * Reads `--tls-cert`, `--tls-key` and `--tls-ca` of a command that listens.
 * Undefined without them; `--tls-cert` and `--tls-key` go together, and
 * `--tls-ca` needs them (mutual TLS means a certificate at both ends).
 */
export function planServerTls(args: ParsedArgs, command: string): ServerTls | undefined {
  const caFile = stringOption(args, "tls-ca");
  const pair = planKeyPair(args, "tls", command);
  if (pair === undefined) {
    if (caFile !== undefined) throw new UsageError("--tls-ca (mutual TLS) needs a certificate of this node's own too: add --tls-cert and --tls-key", command);
    return undefined;
  }
  const ca = caFile === undefined ? {} : { ca: readCertificates(caFile, "tls-ca", command) };
  return { server: { ...pair, ...ca }, client: { ...pair, ...ca } };
}

/**
 * Reads `--<prefix>-ca`, `--<prefix>-cert` and `--<prefix>-key` of a command
 * that dials: TLS towards the nodes it reaches over TCP when any is given,
 * verified against the CA (else the system's CAs), presenting the
 * certificate when one is given (mutual TLS). Undefined: no TLS.
 */
export function planClientTls(args: ParsedArgs, command: string, prefix = "tls"): TlsClientOptions | undefined {
  const caFile = stringOption(args, `${prefix}-ca`);
  const pair = planKeyPair(args, prefix, command);
  if (caFile === undefined && pair === undefined) return undefined;
  return { ...(caFile === undefined ? {} : { ca: readCertificates(caFile, `${prefix}-ca`, command) }), ...pair };
}

/**
 * Reads `--<prefix>-cert` and `--<prefix>-key`, which go together: the
 * certificate (chain) and its private key, checked to belong together.
 * Undefined when neither is given.
 */
export function planKeyPair(args: ParsedArgs, prefix: string, command: string): { cert: Buffer; key: Buffer } | undefined {
  const cert = stringOption(args, `${prefix}-cert`);
  const key = stringOption(args, `${prefix}-key`);
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new UsageError(`--${prefix}-cert and --${prefix}-key go together: give both`, command);
  return readKeyPair({ cert, key }, prefix, command);
}
