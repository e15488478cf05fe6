/**
 * Request bodies at the edge: read within a size limit, checked for content
 * type, scanned for nesting depth before parsing, parsed as JSON.
 */
import type { IncomingMessage } from "node:http";
import { EdgeFailure, JSONRPC } from "./errors.ts";

/**
 * Reads the whole body, refusing one larger than `limit` bytes with 413: at
 * once when Content-Length says so, else as soon as the bytes received pass
 * it (a chunked body). The connection of a refused body is closed, as its
 * rest is never read.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  if (request.readableEnded) return readAlready(request, limit);
  // Listeners are inline and never removed: the request is done with once
  // its body is read, and a settled promise ignores what comes later.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) {
        request.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    request.on("close", () => reject(new EdgeFailure(400, "CANCELLED", "the client closed the connection before sending the whole body")));
    request.on("error", () => reject(new EdgeFailure(400, "CANCELLED", "the client closed the connection before sending the whole body")));
  });
}

/**
 * A body a middleware of the application read before the edge (Express's
 * `express.json()`, `express.raw()`, `express.text()` leave it in
 * `request.body`): taken from there, as the same bytes or the same JSON, and
 * checked as if read. Consumed and not left anywhere: the edge cannot answer.
 */
function readAlready(request: IncomingMessage, limit: number): Promise<Buffer> {
  const body = (request as IncomingMessage & { body?: unknown }).body;
  if (body === undefined) {
    return Promise.reject(new EdgeFailure(500, "INTERNAL", "the request body was read before the edge and not kept: mount the edge before the middleware that reads bodies"));
  }
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return bytes.length > limit ? Promise.reject(tooLarge(limit)) : Promise.resolve(bytes);
}

function tooLarge(limit: number): EdgeFailure {
  return new EdgeFailure(413, "RESOURCE_EXHAUSTED", `the request body is larger than ${limit} bytes`, {
    headers: { connection: "close" },
    jsonRpcCode: JSONRPC.INVALID_REQUEST,
  });
}

/**
 * Whether a Content-Type is JSON: `application/json`, with no charset or
 * UTF-8. Requiring it also keeps cross-site forms out: a browser sends JSON
 * to another origin only after a CORS preflight, which the edge's CORS
 * settings answer.
 */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semicolon = value.indexOf(";");
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  if (type !== "application/json") return false;
  if (semicolon < 0) return true;
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(value.slice(semicolon))?.[1]?.toLowerCase();
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}

/**
 * Whether JSON text nests arrays and objects deeper than `max`. A byte scan
 * that skips strings, made before parsing: so that a body such as a million
 * `[` never reaches the parser, the schema or the codec, each of which would
 * walk it recursively.
 */
export function nestsDeeperThan(text: Buffer | string, max: number): boolean {
  let depth = 0;
  let inString = false;
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Parses a JSON body within a depth limit; a failure is 400 (JSON-RPC: parse error). */
export function parseJson(body: Buffer | string, maxDepth: number): unknown {
  if (nestsDeeperThan(body, maxDepth)) {
    throw new EdgeFailure(400, "INVALID_ARGUMENT", `the JSON nests deeper than ${maxDepth} levels`, { jsonRpcCode: JSONRPC.PARSE_ERROR });
  }
  try {
    return JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch (error) {
    throw new EdgeFailure(400, "INVALID_ARGUMENT", `the body is not valid JSON: ${(error as Error).message}`, { jsonRpcCode: JSONRPC.PARSE_ERROR });
  }
}

/**
 * JSON text of a result (`null` for none). A value from the cluster may hold
 * a bigint, which JSON lacks: it becomes a decimal string rather than failing
 * the whole answer. Only then is a replacer paid for.
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? item.toString() : item)) ?? "null";
  }
}
