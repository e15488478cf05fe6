/**
 * Validation as the server chain's innermost stage: the input against the
 * method's schema before the handler sees it, and, when asked, a unary result
 * before it leaves. The handler gets the schema's output (defaults filled in,
 * transforms applied). Items of an input stream are checked as they arrive,
 * not as the handler reads them: a handler that reads nothing must still
 * refuse a bad item, and a refused item takes no credit.
 */
import type { CallContext, ServerNext } from "./context.ts";
import type { MethodDef } from "./contract.ts";
import { RpcError } from "./rpc-error.ts";
import { validate, type SchemaIssue, type Validation } from "./schema.ts";

/** What to check: the node's `validate` option. */
export interface ValidationChoice {
  readonly input: boolean;
  readonly output: boolean;
}

/** Wraps `handler` of a method defined by `def` with the checks `choice` asks for. */
export function validated(def: MethodDef, handler: ServerNext, choice: ValidationChoice): ServerNext {
  if (!choice.input && !choice.output) return handler;
  const single = def.kind === "unary" || def.kind === "client-stream";
  const checkOutput = choice.output && single;
  const call: ServerNext = checkOutput ? (input, ctx) => checkResult(def, handler(input, ctx), ctx) : handler;
  if (!choice.input || def.kind === "client-stream" || def.kind === "bidi-stream") return call;
  return (input, ctx) => {
    const checked = validate(def.input, input);
    if (checked instanceof Promise) return checked.then((result) => call(inputOrThrow(result, ctx), ctx));
    return call(inputOrThrow(checked, ctx), ctx);
  };
}

/** The validated input, or INVALID_ARGUMENT (unprocessed: no handler saw anything). */
function inputOrThrow(result: Validation, ctx: CallContext): unknown {
  if (result.ok) return result.value;
  throw invalid(result.issues, "the input", ctx, true);
}

/**
 * The check of each input stream item of a method, as it arrives, or null
 * when the method takes no stream or inputs go unchecked: the validated item,
 * or a thrown INVALID_ARGUMENT that ends the call.
 */
export function itemCheck(def: MethodDef, endpoint: { service: string; method: string }, node: string, choice: ValidationChoice): ((item: unknown) => unknown) | null {
  if (!choice.input || (def.kind !== "client-stream" && def.kind !== "bidi-stream")) return null;
  const where = { service: endpoint.service, method: endpoint.method, node };
  return (item) => {
    const checked = validate(def.input, item);
    if (checked instanceof Promise) throw new RpcError("INTERNAL", `${where.service}.${where.method}: stream items need a synchronous schema`);
    if (!checked.ok) throw invalid(checked.issues, "a stream item", where, false);
    return checked.value;
  };
}

function checkResult(def: MethodDef, result: unknown, ctx: CallContext): unknown {
  if (result instanceof Promise) return result.then((output) => outputOrThrow(def, output, ctx));
  return outputOrThrow(def, result, ctx);
}

function outputOrThrow(def: MethodDef, output: unknown, ctx: CallContext): unknown {
  const checked = validate(def.output, output);
  if (!(checked instanceof Promise) && checked.ok) return output;
  throw new RpcError("INTERNAL", `${ctx.service}.${ctx.method} on node ${ctx.node} returned a value its contract does not allow`, {
    details: checked instanceof Promise ? undefined : { issues: checked.issues },
  });
}

function invalid(issues: SchemaIssue[], what: string, ctx: Pick<CallContext, "service" | "method" | "node">, unprocessed: boolean): RpcError {
  const first = issues[0];
  const where = first?.path ? ` at "${first.path}"` : "";
  return new RpcError("INVALID_ARGUMENT", `${ctx.service}.${ctx.method}: ${what} does not match the contract's schema${where}: ${first?.message ?? "invalid"}`, {
    details: { issues },
    service: ctx.service,
    method: ctx.method,
    node: ctx.node,
    unprocessed,
  });
}
