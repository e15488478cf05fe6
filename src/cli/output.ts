import type { RpcError } from "../index.ts";
import type { Paint } from "./color.ts";

/**
 * A value as JSON text: compact on one line, or indented for people.
 * Values JSON lacks are still shown: bigint as its decimal string, bytes as
 * base64, undefined as null.
 */
export function toJson(value: unknown, compact: boolean): string {
  return JSON.stringify(value, replacer, compact ? undefined : 2) ?? "null";
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  return value;
}

/**
 * The lines that report a failed call: `ERROR <CODE>: <message>`, then any
 * schema issues one per line; or, with `json`, the error as one JSON object.
 * `paint` colours the code (red on a terminal).
 */
export function formatError(error: RpcError, json: boolean, paint: Paint = (text) => text): string[] {
  if (json) return [JSON.stringify({ error: error.toJSON() }, replacer)];
  const lines = [`${paint(`ERROR ${error.code}`)}: ${error.message}`];
  const issues = (error.details as { issues?: unknown } | undefined)?.issues;
  if (Array.isArray(issues)) {
    for (const issue of issues as Array<{ path?: unknown; message?: unknown }>) {
      const at = typeof issue?.path === "string" && issue.path !== "" ? ` at "${issue.path}"` : "";
      lines.push(`  issue${at}: ${String(issue?.message)}`);
    }
  } else if (error.details !== undefined && error.details !== null) {
    lines.push(`  details: ${toJson(error.details, true)}`);
  }
  if (error.remoteStack) lines.push(error.remoteStack.replace(/^/gm, "  | "));
  return lines;
}
