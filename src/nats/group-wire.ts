/**
 * What an Amoeba call through a NATS queue group looks like on the wire. It
 * goes to the method's micro endpoint (`<prefix>.svc.<service>.v<major>.<method>`,
 * queue group `q`), the subject a plain `nats req` uses, so NATS picks the
 * instance; the header `Amoeba-Wire: 1` says the body is Amoeba's encoding
 * (msgpack, as in frames) rather than JSON, so every value type, metadata and
 * the deadline travel as over a connection.
 *
 * - request body: `[input, meta | null, range | null, timeout ms | null, caller id, caller name]`
 * - reply body: `[0, output, meta | null, callee µs]` or `[1, <ERROR frame body>]`
 * - cancel: the reply subject, published on `<prefix>.cancel.<service>.v<major>`,
 *   which every instance of that service and major version listens on.
 */
import type { ErrorBody, Meta } from "../wire/index.ts";

/** The header that marks a request as an Amoeba call in the wire encoding. */
export const WIRE_HEADER = "Amoeba-Wire";
/** Its value: the version of this format. */
export const WIRE_VERSION = "1";

export type GroupRequestBody = [input: unknown, meta: Meta | null, range: string | null, timeout: number | null, callerId: string, callerName: string];
export type GroupReplyBody = [ok: 0, output: unknown, meta: Meta | null, micros: number] | [failed: 1, error: ErrorBody];

/** The subject cancels of calls to `service` at `major` go to. */
export function cancelSubject(prefix: string, service: string, major: number): string {
  return `${prefix}.cancel.${service}.v${major}`;
}

const SINGLE_MAJOR = /^\s*[\^~]?(\d+)(?:\.(?:\d+|x)){0,2}\s*$/;

/**
 * The one major version a range keeps to (`^1.2.0`, `~1.2`, `1.x`, `1`), or
 * undefined for ranges that span majors or none (`*`, `>=1.0.0`, null).
 */
export function majorOfRange(range: string | null): number | undefined {
  if (range === null) return undefined;
  const match = SINGLE_MAJOR.exec(range);
  return match ? Number(match[1]) : undefined;
}
