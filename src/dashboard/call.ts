/**
 * The call form's endpoint: calls a method known only by its name from the
 * catalog, balanced by the node that watches its cluster, and answers the
 * result, the stream's items, or the error with its code.
 */
import { dynamicContract } from "./dynamic-contract.ts";
import { EdgeFailure, failureOf } from "../edge/errors.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import type { Collector } from "./collector.ts";

/** What `POST /api/call` takes. */
export interface CallForm {
  service: string;
  method: string;
  /** The method's input; `{}` when absent. */
  input?: unknown;
  /** The cluster to call in; default the first that serves the service. */
  cluster?: string;
  /** The call's deadline (ms), 1 to {@link MAX_CALL_TIMEOUT_MS}; default {@link DEFAULT_CALL_TIMEOUT_MS}. */
  timeout?: number;
}

/** What `POST /api/call` answers on success. */
export interface CallAnswer {
  cluster: string;
  service: string;
  version: string;
  method: string;
  /** The result of a unary call. */
  result?: unknown;
  /** The items of a server stream, at most {@link MAX_STREAM_ITEMS}. */
  items?: unknown[];
  /** Whether the stream had more items than were kept. */
  truncated?: boolean;
  /** How long the call took (ms). */
  ms: number;
}

/** The deadline of a call from the form that sets none (ms). */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** The longest deadline a call from the form may ask for (ms). */
export const MAX_CALL_TIMEOUT_MS = 60_000;
/** A server stream's items past this many are not kept: the call is cancelled there. */
export const MAX_STREAM_ITEMS = 100;

/** Checks the form and makes the call; every failure is an EdgeFailure with a status and a code. */
export async function callFromForm(collector: Collector, body: unknown): Promise<CallAnswer> {
  const form = checkForm(body);
  const found = collector.findMethod(form.service, form.method, form.cluster);
  if (found === undefined) {
    const where = form.cluster === undefined ? "any cluster" : `cluster "${form.cluster}"`;
    throw new EdgeFailure(404, "NOT_FOUND", `no method ${form.service}.${form.method} is served in ${where}`);
  }
  const kind = found.method.kind;
  if (kind !== "unary" && kind !== "server-stream") {
    throw new EdgeFailure(400, "INVALID_ARGUMENT", `${form.service}.${form.method} is a ${kind} method; the form calls unary and server-stream methods`);
  }
  const client = found.reader.node.client(dynamicContract(found.service, found.version, form.method, kind)) as Record<
    string,
    (input: unknown, options: { timeout: number }) => Promise<unknown> | CallStream<unknown>
  >;
  const call = client[form.method]!;
  const answer = { cluster: found.reader.cluster, service: found.service, version: found.version, method: form.method };
  const started = performance.now();
  try {
    if (kind === "unary") {
      const result = await (call(form.input ?? {}, { timeout: form.timeout ?? DEFAULT_CALL_TIMEOUT_MS }) as Promise<unknown>);
      return { ...answer, result, ms: elapsed(started) };
    }
    const items: unknown[] = [];
    let truncated = false;
    for await (const item of call(form.input ?? {}, { timeout: form.timeout ?? DEFAULT_CALL_TIMEOUT_MS }) as CallStream<unknown>) {
      if (items.length === MAX_STREAM_ITEMS) {
        truncated = true;
        break;
      }
      items.push(item);
    }
    return { ...answer, items, truncated, ms: elapsed(started) };
  } catch (error) {
    // The dashboard is for the people who run the cluster: they see the whole message.
    throw failureOf(error, true);
  }
}

function checkForm(body: unknown): CallForm {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new EdgeFailure(400, "INVALID_ARGUMENT", 'the body must be a JSON object such as {"service":"calculator","method":"add","input":{"a":1,"b":2}}');
  }
  const form = body as Record<string, unknown>;
  for (const field of ["service", "method"] as const) {
    if (typeof form[field] !== "string" || form[field] === "") throw new EdgeFailure(400, "INVALID_ARGUMENT", `"${field}" must be a non-empty string`);
  }
  if (form.cluster !== undefined && typeof form.cluster !== "string") throw new EdgeFailure(400, "INVALID_ARGUMENT", '"cluster" must be a string');
  const timeout = form.timeout;
  if (timeout !== undefined && !(Number.isInteger(timeout) && (timeout as number) >= 1 && (timeout as number) <= MAX_CALL_TIMEOUT_MS)) {
    throw new EdgeFailure(400, "INVALID_ARGUMENT", `"timeout" must be a whole number of ms from 1 to ${MAX_CALL_TIMEOUT_MS}`);
  }
  return form as unknown as CallForm;
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}
