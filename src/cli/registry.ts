import { AddressError, ExposureError, startNode, type AuthorizationPolicy, type TlsServerOptions, type TokenVerifier } from "../index.ts";
import { serveRegistry } from "../lookup/registry/server.ts";
import { checkSocketAddress, flagOption, listOption, parseOrHelp, parseMs, stringOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { commandLogger } from "./log-level.ts";
import { drainOnSignal } from "./serve.ts";
import { REGISTRY } from "./usage.ts";
import { readPolicy } from "./policy-file.ts";
import { readTokens } from "./token-args.ts";
import { planServerTls } from "./tls-args.ts";

/** What `amoeba registry` was asked to do. */
export interface RegistryPlan {
  readonly listen: readonly string[];
  readonly name: string | undefined;
  readonly drainTimeout: number | undefined;
  /** TLS of its listeners (`--tls-cert`, `--tls-key`, `--tls-ca`). */
  readonly tls: TlsServerOptions | undefined;
  /** Who may call what (`--policy`): registering nodes and the tools that ask. */
  readonly authorization: AuthorizationPolicy | undefined;
  /** The bearer tokens it takes (`--tokens`): a node's record then belongs to its token. */
  readonly tokens: TokenVerifier | undefined;
  /** Listen for other hosts with no credentials (`--insecure`). */
  readonly insecure: boolean;
}

/** Where `amoeba registry` listens when no --listen is given. */
export const DEFAULT_REGISTRY_LISTEN = "tcp://127.0.0.1:7500";

/** `amoeba registry`: serves the registry until SIGINT or SIGTERM, then drains. Returns the exit code. */
export async function runRegistry(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(REGISTRY, argv, io);
  if (!args) return EXIT.ok;
  const plan = planRegistry(args);
  const node = await startNode({
    logger: commandLogger(args, "registry"),
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    ...(plan.drainTimeout !== undefined ? { drainTimeout: plan.drainTimeout } : {}),
    ...(plan.tls !== undefined ? { tls: plan.tls } : {}),
    ...(plan.authorization !== undefined ? { authorization: plan.authorization } : {}),
    ...(plan.tokens !== undefined ? { tokens: plan.tokens } : {}),
    ...(plan.insecure ? { insecure: true } : {}),
  });
  // Watches last as long as their watcher: on shutdown they are ended, so
  // that draining waits only for the short calls (register, members).
  const shutdown = new AbortController();
  serveRegistry(node, { signal: shutdown.signal });
  try {
    for (const address of plan.listen) {
      try {
        await node.listen(address);
      } catch (error) {
        if (error instanceof AddressError) throw new UsageError((error as Error).message, "registry");
        if (error instanceof ExposureError) throw new UsageError(`${error.message}; or --insecure`, "registry");
        throw new CliError(`cannot listen on ${address}: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    await node.close({ timeout: 0 });
    throw error;
  }
  // Listen for signals before saying it is up: whoever reads that line may signal at once.
  const signalled = drainOnSignal(node, io, "registry", () => shutdown.abort());
  for (const address of node.addresses) io.out(`amoeba: registry ${node.name} listening on ${address}`);
  return signalled;
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planRegistry(args: ParsedArgs): RegistryPlan {
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "registry");
  const listen = listOption(args, "listen").map((address) => checkSocketAddress(address, "registry"));
  const drainTimeout = stringOption(args, "drain-timeout");
  const policy = stringOption(args, "policy");
  const tokens = stringOption(args, "tokens");
  return {
    listen: listen.length > 0 ? listen : [DEFAULT_REGISTRY_LISTEN],
    name: stringOption(args, "name"),
    drainTimeout: drainTimeout === undefined ? undefined : parseMs(drainTimeout, "drain-timeout", "registry"),
    // A registry dials no one: only its listeners' side of the TLS options is used.
    tls: planServerTls(args, "registry")?.server,
    authorization: policy === undefined ? undefined : readPolicy(policy, "registry"),
    tokens: tokens === undefined ? undefined : readTokens(tokens, "registry"),
    insecure: flagOption(args, "insecure"),
  };
}
