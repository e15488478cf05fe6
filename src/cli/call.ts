import { AddressError, connect, isRpcError, RpcError, type CallOptions, type CallStream, type ClientOptions, type Meta, type MethodKind, type Peer, type TlsClientOptions } from "../index.ts";
import { checkSocketAddress, flagOption, listOption, parseOrHelp, parseMs, stringOption, type ParsedArgs } from "./args.ts";
import { createCallGuard, type CallGuard } from "./call-guard.ts";
import { reflectMethod } from "./reflect-method.ts";
import { dynamicContract, METHOD_KINDS, newestVersion } from "../dashboard/dynamic-contract.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { clusterKeyFromEnv, describeWhere, planLookup, planWait, type LookupPlan } from "./lookup-args.ts";
import { describeVersions, joinAsTool, pickAddresses } from "./lookup-session.ts";
import { isVersionRange } from "../rpc/version.ts";
import { formatError, toJson } from "./output.ts";
import { paletteFor } from "./color.ts";
import { didYouMean } from "./suggest.ts";
import { CALL } from "./usage.ts";
import { loadEngine } from "./engine.ts";
import { planClientTls } from "./tls-args.ts";
import { tlsHint } from "./tls-hint.ts";
import { tokenOption } from "./token-args.ts";

/** One call, as the command line asks for it. */
export interface CallPlan {
  /** The node to call; empty until the look-up found one. */
  readonly address: string;
  /** Find the node through this cluster's look-up instead of an address. */
  readonly lookup: LookupPlan | undefined;
  /** The versions of the service to accept (--version); undefined for the newest served. */
  readonly version: string | undefined;
  /** How long the look-up may take to find a node (ms). */
  readonly wait: number;
  readonly service: string;
  readonly method: string;
  /** From --kind or --stream; undefined to ask the node. */
  readonly kind: MethodKind | undefined;
  readonly input: unknown;
  /** In ms; Infinity for no deadline. */
  readonly timeout: number;
  readonly meta: Meta | undefined;
  readonly json: boolean;
  /** A NATS server (--engine) to dial through: for `nats://<node id>` addresses and instances found on NATS. */
  readonly engine?: string | undefined;
  /** TLS towards the nodes it dials over TCP (`--tls-ca`, `--tls-cert`, `--tls-key`); undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const METHOD_NAME = /^[A-Za-z_$][\w$]*$/;

type AnyMethod = (input: unknown, options?: CallOptions) => Promise<unknown> | CallStream<unknown>;

/** The options every call of one command shares. */
interface Options {
  readonly client: ClientOptions;
  readonly call: CallOptions;
}

/** `amoeba call`: returns the exit code (see {@link EXIT}). */
export async function runCall(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(CALL, argv, io);
  if (!args) return EXIT.ok;
  const plan = planCall(args);
  if (plan.lookup === undefined) return placeCall(plan, io);
  return callThroughLookup(plan, plan.lookup, io);
}

/** Checks the command line and turns it into a plan; every mistake is a UsageError (exit 2). */
export function planCall(args: ParsedArgs): CallPlan {
  const found = planLookup(args, "call");
  // `--engine nats://server nats://<node id> svc.method`: an address on NATS, dialed through the engine.
  const engine = found?.engine;
  const lookup = engine !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(args.positionals[0] ?? "") ? undefined : found;
  const positionals = lookup === undefined ? args.positionals : ["", ...args.positionals];
  const [address, target, inputText, ...extra] = positionals;
  if (lookup !== undefined && args.positionals[0] !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(args.positionals[0])) {
    throw new UsageError(`give either an address (${args.positionals[0]}) or --cluster/--seeds/--registry to find one, not both`, "call");
  }
  if (address === undefined || target === undefined || extra.length > 0) {
    const expected = lookup === undefined ? "<address> <service.method> ['<json>']" : "<service.method> ['<json>'] (the look-up finds the node)";
    throw new UsageError(`expects ${expected}, got ${args.positionals.length} argument(s)`, "call");
  }
  // Service names may contain dots (`billing.invoices`); the method is what follows the last one.
  const dot = target.lastIndexOf(".");
  const service = target.slice(0, dot);
  const method = target.slice(dot + 1);
  if (dot <= 0 || !METHOD_NAME.test(method)) {
    throw new UsageError(`"${target}" is not <service.method>, as in calculator.add`, "call");
  }
  const kind = readKind(args);
  try {
    // The same checks the call will make, made before connecting: names a contract cannot have.
    dynamicContract(service, "0.0.0", method, kind ?? "unary");
  } catch (error) {
    throw new UsageError((error as Error).message, "call");
  }
  const version = stringOption(args, "version");
  if (version !== undefined && !isVersionRange(version)) throw new UsageError(`--version takes a range such as ^1.2 or 2.x, not "${version}"`, "call");
  if (lookup === undefined && found === undefined && stringOption(args, "wait") !== undefined) throw new UsageError("--wait is for look-up: use it with --cluster, --seeds or --registry", "call");
  return {
    address: lookup !== undefined ? "" : engine !== undefined && address.startsWith("nats://") ? address : checkSocketAddress(address, "call"),
    engine,
    lookup,
    version,
    wait: planWait(args, "call").ms,
    service,
    method,
    kind,
    input: readInput(inputText ?? "{}", kind),
    timeout: readTimeout(args),
    meta: readMeta(listOption(args, "meta")),
    json: flagOption(args, "json"),
    tls: planClientTls(args, "call"),
  };
}

function readKind(args: ParsedArgs): MethodKind | undefined {
  const kind = stringOption(args, "kind");
  const streamFlag = flagOption(args, "stream");
  if (kind === undefined) return streamFlag ? "server-stream" : undefined;
  if (!(METHOD_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--kind must be one of ${METHOD_KINDS.join(", ")}, not "${kind}"`, "call");
  }
  if (streamFlag && kind !== "server-stream") throw new UsageError(`--stream means --kind server-stream; it contradicts --kind ${kind}`, "call");
  return kind as MethodKind;
}

function readInput(text: string, kind: MethodKind | undefined): unknown {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the input is not valid JSON (${(error as Error).message}); quote it for the shell, as in '{"a":1,"b":2}'`, "call");
  }
  if (kind !== undefined) checkInputFits(input, kind);
  return input;
}

// Streaming inputs are sent item by item, so they must be a list.
function checkInputFits(input: unknown, kind: MethodKind): void {
  if ((kind === "client-stream" || kind === "bidi-stream") && !Array.isArray(input)) {
    throw new UsageError(`a ${kind} call takes a JSON array of the items to send, as in '[{"a":1},{"a":2}]'`, "call");
  }
}

function readTimeout(args: ParsedArgs): number {
  const text = stringOption(args, "timeout");
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = parseMs(text, "timeout", "call");
  return ms === 0 ? Infinity : ms;
}

function readMeta(pairs: string[]): Meta | undefined {
  if (pairs.length === 0) return undefined;
  const entries = pairs.map((pair) => {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new UsageError(`--meta takes key=value, not "${pair}"`, "call");
    return [pair.slice(0, equals), pair.slice(equals + 1)] as const;
  });
  return Object.fromEntries(entries);
}

/**
 * Finds the node to call through the cluster's look-up: the instances of the
 * service within --version, alive before suspect, least loaded first. The
 * command's short-lived membership ends before the call is placed.
 */
async function callThroughLookup(plan: CallPlan, lookup: LookupPlan, io: Io): Promise<number> {
  const wanted = { service: plan.service, ...(plan.version !== undefined ? { version: plan.version } : {}) };
  let addresses: string[];
  let view;
  try {
    view = await joinAsTool(lookup, "call", { wait: plan.wait, tls: plan.tls, until: (current) => pickAddresses(current.instances(wanted)).length > 0 });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    const code = error.exitCode === EXIT.unreachable ? "UNAVAILABLE" : "CANCELLED";
    return report(io, plan, new RpcError(code, error.message, { unprocessed: true }), error.exitCode);
  }
  try {
    addresses = pickAddresses(view.instances(wanted));
    if (addresses.length === 0) {
      const wantedText = `${plan.service}@${plan.version ?? "*"}`;
      const found = describeVersions(view.instances({ service: plan.service }));
      const services = [...new Set(view.instances().map((instance) => `${instance.service}@${instance.version}`))];
      const known =
        found !== ""
          ? `; it runs as ${found}`
          : services.length > 0
            ? `; no node serves ${plan.service} there${didYouMean(plan.service, services.map((name) => name.slice(0, name.lastIndexOf("@"))))}; the services there: ${services.join(", ")}`
            : "; no node there serves any service";
      const error = new RpcError("NOT_FOUND", `no instance of ${wantedText} in ${describeWhere(lookup)}${known}`, {
        service: plan.service,
        method: plan.method,
        unprocessed: true,
      });
      return report(io, plan, error, EXIT.failure);
    }
  } finally {
    await view.close();
  }
  return placeCall({ ...plan, address: addresses[0]! }, io, addresses.slice(1, 3));
}

/**
 * Connects, calls, prints; returns the exit code. `fallbacks`: other
 * addresses of the same service, tried in turn when a node cannot be reached.
 */
export async function placeCall(plan: CallPlan, io: Io, fallbacks: readonly string[] = []): Promise<number> {
  const guard = createCallGuard(plan.timeout, () => stuckError(plan));
  let peer: Peer;
  try {
    peer = await guard.race(connectFirst([plan.address, ...fallbacks], plan));
  } catch (error) {
    guard.dispose();
    if (guard.signalExit !== undefined) return report(io, plan, error, guard.signalExit);
    if (error instanceof AddressError || (error as Error)?.cause instanceof AddressError) {
      throw new UsageError(((error as Error).cause as Error | undefined)?.message ?? (error as Error).message, "call");
    }
    const message = (error as Error)?.message ?? String(error);
    const code = report(io, plan, isRpcError(error) ? error : new RpcError("UNAVAILABLE", message, { unprocessed: true }), EXIT.unreachable);
    const hint = plan.json ? undefined : tlsHint(message, plan.tls);
    if (hint !== undefined) io.err(`  hint: ${hint}`);
    return code;
  }
  // One deadline for the whole command, reflection included.
  const options: Options = {
    client: { timeout: plan.timeout, ...(plan.meta ? { meta: plan.meta } : {}) },
    call: { signal: guard.signal, ...(Number.isFinite(plan.timeout) ? { deadline: Date.now() + plan.timeout } : {}) },
  };
  let kind = plan.kind;
  let reflected: Awaited<ReturnType<typeof reflectMethod>>;
  let hint = "";
  const onMiss = (known: { services: string[]; methods: string[] }): void => {
    hint = known.methods.length > 0 ? didYouMean(plan.method, known.methods) : known.services.includes(plan.service) ? "" : didYouMean(plan.service, known.services);
  };
  try {
    // Learn the method's kind from the node unless the command line said it.
    if (kind === undefined) {
      reflected = await guard.race(reflectMethod(peer, plan.service, plan.method, { timeout: plan.timeout }, options.call, plan.version, onMiss));
    }
    kind = reflected?.kind ?? kind ?? "unary";
    checkInputFits(plan.input, kind);
    await invoke(peer, { ...plan, kind }, reflected?.version, options, guard, io);
    return EXIT.ok;
  } catch (error) {
    if (!isRpcError(error)) throw error;
    const guessedUnary = kind === "unary" && reflected === undefined;
    const code = report(io, plan, error, guard.signalExit ?? EXIT.failure, guessedUnary);
    if (!plan.json && hint !== "" && (error.code === "NOT_FOUND" || error.code === "UNIMPLEMENTED")) io.err(`  hint: ${hint.slice(2)}`);
    return code;
  } finally {
    guard.dispose();
    await peer.close();
  }
}

/** Connects to the first address that answers; fails with the last failure. */
async function connectFirst(addresses: readonly string[], plan: Pick<CallPlan, "timeout" | "engine" | "tls" | "lookup">): Promise<Peer> {
  const { timeout, engine, tls } = plan;
  const clusterKey = plan.lookup?.clusterKey ?? clusterKeyFromEnv();
  // A node that takes tokens knows the CLI by the one in $AMOEBA_TOKEN.
  const token = tokenOption("call");
  let failure: unknown;
  for (const address of addresses) {
    try {
      return await connect(address, {
        name: `amoeba-cli-${process.pid}`,
        // Each attempt has an engine of its own: connect() closes its node, engine included, with the peer.
        ...(engine !== undefined && address.startsWith("nats://") ? { engine: await loadEngine(engine), lookup: false } : {}),
        ...(tls !== undefined && address.startsWith("tcp://") ? { tls } : {}),
        // This node serves nothing; when the CLI gives up on a call, closing must not wait for it.
        drainTimeout: 0,
        // A keyed node takes only connections that prove its key.
        ...(clusterKey !== undefined ? { clusterKey } : {}),
        ...token,
        ...(Number.isFinite(timeout) ? { connectTimeout: timeout } : {}),
      });
    } catch (error) {
      if (error instanceof AddressError || (error as Error)?.cause instanceof AddressError) throw error;
      failure = error;
    }
  }
  throw failure;
}

async function invoke(
  peer: Peer,
  plan: CallPlan & { kind: MethodKind },
  reflected: string | undefined,
  options: Options,
  guard: CallGuard,
  io: Io,
): Promise<void> {
  // Call the newest version the node serves (from reflection, else from its
  // handshake's [name, version] list). If it serves no such service, call
  // anyway with any version: its NOT_FOUND answer names what it does serve.
  const version = reflected ?? newestVersion(peer.services, plan.service, plan.version);
  const contract = dynamicContract(plan.service, version ?? "0.0.0", plan.method, plan.kind);
  const client = peer.client(contract, { ...options.client, version: version ?? plan.version ?? "*" });
  const call = (client as unknown as Record<string, AnyMethod>)[plan.method]!;
  const pending = call(plan.input, options.call);
  if (plan.kind === "unary" || plan.kind === "client-stream") {
    io.out(toJson(await guard.race(pending as Promise<unknown>), plan.json));
    return;
  }
  const stream = pending as CallStream<unknown>;
  const items = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await guard.race(items.next());
      if (step.done) return;
      // Items are one per line whatever the mode, so output can be piped line by line.
      io.out(toJson(step.value, true));
    }
  } catch (error) {
    stream.cancel("the caller stopped reading");
    throw error;
  }
}

// The guard fires only after the call's own deadline plus a grace period.
// For a stream call that is the sign of a unary method: its single RESULT
// cannot be read as a stream, so the call never ends on its own.
function stuckError(plan: CallPlan): RpcError {
  const streaming = plan.kind === "server-stream" || plan.kind === "bidi-stream";
  const hint = streaming
    ? `; if ${plan.method} returns one value rather than a stream, call it without --stream/--kind`
    : "";
  return new RpcError("DEADLINE_EXCEEDED", `${plan.service}.${plan.method} at ${plan.address}: no answer within ${plan.timeout} ms${hint}`, {
    service: plan.service,
    method: plan.method,
  });
}

function report(io: Io, plan: CallPlan, error: unknown, code: number, guessedUnary = false): number {
  const rpcError = isRpcError(error) ? error : new RpcError("UNKNOWN", (error as Error)?.message ?? String(error));
  for (const line of formatError(rpcError, plan.json, paletteFor(process.stderr).red)) io.err(line);
  // A unary call to a streaming method waits for stream credit that never
  // comes; that can happen when the node did not say the kind: say so.
  if (!plan.json && rpcError.code === "DEADLINE_EXCEEDED" && guessedUnary) {
    io.err(`  hint: if ${plan.method} is a stream method (declared with stream()), call it with --stream`);
  }
  // The node refused a call of the wrong kind and said the right one.
  const kind = (rpcError.details as { kind?: unknown } | undefined)?.kind;
  if (!plan.json && rpcError.code === "FAILED_PRECONDITION" && typeof kind === "string" && (METHOD_KINDS as readonly string[]).includes(kind)) {
    const how = kind === "unary" ? "call it without --stream or --kind" : kind === "server-stream" ? "call it with --stream" : `call it with --kind ${kind}`;
    io.err(`  hint: ${plan.method} is a ${kind} method: ${how}`);
  }
  return code;
}
