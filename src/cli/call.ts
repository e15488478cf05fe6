import { AddressError, connect, isRpcError, RpcError, type CallOptions, type CallStream, type Meta, type MethodKind, type Peer } from "../index.ts";
import { checkSocketAddress, flagOption, listOption, parseCommandArgs, parseMs, stringOption, type ParsedArgs } from "./args.ts";
import { createCallGuard, type CallGuard } from "./call-guard.ts";
import { dynamicContract, METHOD_KINDS, newestVersion } from "./dynamic-contract.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { formatError, toJson } from "./output.ts";
import { CALL, commandHelp } from "./usage.ts";

/** One call, as the command line asks for it. */
export interface CallPlan {
  readonly address: string;
  readonly service: string;
  readonly method: string;
  readonly kind: MethodKind;
  readonly input: unknown;
  /** In ms; Infinity for no deadline. */
  readonly timeout: number;
  readonly meta: Meta | undefined;
  readonly json: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const METHOD_NAME = /^[A-Za-z_$][\w$]*$/;

type AnyMethod = (input: unknown, options?: CallOptions) => Promise<unknown> | CallStream<unknown>;

/** `amoeba call`: returns the exit code (see {@link EXIT}). */
export async function runCall(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(CALL, argv);
  if (flagOption(args, "help")) {
    io.out(commandHelp(CALL));
    return EXIT.ok;
  }
  return placeCall(planCall(args), io);
}

/** Checks the command line and turns it into a plan; every mistake is a UsageError (exit 2). */
export function planCall(args: ParsedArgs): CallPlan {
  const [address, target, inputText, ...extra] = args.positionals;
  if (address === undefined || target === undefined || extra.length > 0) {
    throw new UsageError(`expects <address> <service.method> ['<json>'], got ${args.positionals.length} argument(s)`, "call");
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
    dynamicContract(service, "0.0.0", method, kind);
  } catch (error) {
    throw new UsageError((error as Error).message, "call");
  }
  return {
    address: checkSocketAddress(address, "call"),
    service,
    method,
    kind,
    input: readInput(inputText ?? "{}", kind),
    timeout: readTimeout(args),
    meta: readMeta(listOption(args, "meta")),
    json: flagOption(args, "json"),
  };
}

function readKind(args: ParsedArgs): MethodKind {
  const kind = stringOption(args, "kind");
  const streamFlag = flagOption(args, "stream");
  if (kind === undefined) return streamFlag ? "server-stream" : "unary";
  if (!(METHOD_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--kind must be one of ${METHOD_KINDS.join(", ")}, not "${kind}"`, "call");
  }
  if (streamFlag && kind !== "server-stream") throw new UsageError(`--stream means --kind server-stream; it contradicts --kind ${kind}`, "call");
  return kind as MethodKind;
}

function readInput(text: string, kind: MethodKind): unknown {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the input is not valid JSON (${(error as Error).message}); quote it for the shell, as in '{"a":1,"b":2}'`, "call");
  }
  if ((kind === "client-stream" || kind === "bidi-stream") && !Array.isArray(input)) {
    throw new UsageError(`a ${kind} call takes a JSON array of the items to send, as in '[{"a":1},{"a":2}]'`, "call");
  }
  return input;
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

/** Connects, calls, prints; returns the exit code. */
export async function placeCall(plan: CallPlan, io: Io): Promise<number> {
  const guard = createCallGuard(plan.timeout, () => stuckError(plan));
  let peer: Peer;
  try {
    peer = await guard.race(
      connect(plan.address, {
        name: `amoeba-cli-${process.pid}`,
        // This node serves nothing; when the CLI gives up on a call, closing must not wait for it.
        drainTimeout: 0,
        ...(Number.isFinite(plan.timeout) ? { connectTimeout: plan.timeout } : {}),
      }),
    );
  } catch (error) {
    guard.dispose();
    if (guard.signalExit !== undefined) return report(io, plan, error, guard.signalExit);
    if (error instanceof AddressError || (error as Error)?.cause instanceof AddressError) {
      throw new UsageError(((error as Error).cause as Error | undefined)?.message ?? (error as Error).message, "call");
    }
    const message = (error as Error)?.message ?? String(error);
    return report(io, plan, isRpcError(error) ? error : new RpcError("UNAVAILABLE", message, { unprocessed: true }), EXIT.unreachable);
  }
  try {
    await invoke(peer, plan, guard, io);
    return EXIT.ok;
  } catch (error) {
    if (!isRpcError(error)) throw error;
    return report(io, plan, error, guard.signalExit ?? EXIT.failure);
  } finally {
    guard.dispose();
    await peer.close();
  }
}

async function invoke(peer: Peer, plan: CallPlan, guard: CallGuard, io: Io): Promise<void> {
  // The handshake lists what the node serves, [name, version]; call the
  // newest version it has. If it serves no such service, call anyway with any
  // version: its NOT_FOUND answer names what it does serve.
  const version = newestVersion(peer.services, plan.service);
  const contract = dynamicContract(plan.service, version ?? "0.0.0", plan.method, plan.kind);
  const client = peer.client(contract, { timeout: plan.timeout, version: version ?? "*", ...(plan.meta ? { meta: plan.meta } : {}) });
  const call = (client as unknown as Record<string, AnyMethod>)[plan.method]!;
  const pending = call(plan.input, { signal: guard.signal });
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

function report(io: Io, plan: CallPlan, error: unknown, code: number): number {
  const rpcError = isRpcError(error) ? error : new RpcError("UNKNOWN", (error as Error)?.message ?? String(error));
  for (const line of formatError(rpcError, plan.json)) io.err(line);
  // A unary call to a streaming method waits for stream credit that never comes: say so.
  if (!plan.json && rpcError.code === "DEADLINE_EXCEEDED" && plan.kind === "unary") {
    io.err(`  hint: if ${plan.method} is a stream method (declared with stream()), call it with --stream`);
  }
  return code;
}
