/** The edge's OpenAPI 3.1 document, generated from the public methods' JSON Schemas. */
import type { EdgeService } from "./catalog.ts";

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: {
          type: "string",
          description: "A gRPC status code name: INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, …",
        },
        message: { type: "string" },
        details: { description: "Structured details, such as the schema's issues of INVALID_ARGUMENT." },
      },
    },
  },
};

const ERROR_RESPONSES = {
  "400": { $ref: "#/components/responses/Error", description: "Invalid input (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE)" },
  "401": { $ref: "#/components/responses/Error", description: "UNAUTHENTICATED" },
  "429": { $ref: "#/components/responses/Error", description: "Rate limited or overloaded (RESOURCE_EXHAUSTED); see Retry-After" },
  default: { $ref: "#/components/responses/Error" },
};

/** Options of the document. */
export interface OpenApiInfo {
  title?: string;
  version?: string;
  /** The base URL of the edge as clients reach it, for `servers`. */
  serverUrl?: string;
}

/**
 * An OpenAPI 3.1 document of `POST /rpc/{service}/{method}` for every public
 * method: the request body is the input's schema; a unary method answers
 * JSON with the output's schema, a server stream answers Server-Sent Events
 * whose `data` each hold one output item. Schemas a service's library could not
 * export are `{}` (any JSON value).
 */
export function openApiDocument(services: Iterable<EdgeService>, info: OpenApiInfo = {}): object {
  const paths: Record<string, object> = {};
  for (const service of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const method of [...service.methods.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const streaming = method.kind === "server-stream";
      const takesStream = method.kind === "client-stream" || method.kind === "bidi-stream";
      const input = takesStream ? { type: "array", items: method.input, description: "The input stream's items, in order." } : method.input;
      const output = method.output;
      const success = streaming || method.kind === "bidi-stream"
        ? {
            description: "A stream of Server-Sent Events: each `data` is one output item (JSON); an `end` event closes a stream that completed, an `error` event one that failed.",
            content: { "text/event-stream": { schema: { type: "string" }, "x-item-schema": output } },
          }
        : { description: "The result.", content: { "application/json": { schema: output } } };
      paths[`/rpc/${service.name}/${method.name}`] = {
        post: {
          operationId: `${service.name}.${method.name}`,
          summary: method.description ?? `${service.name}.${method.name}`,
          tags: [service.name],
          ...(method.idempotent ? { "x-idempotent": true } : {}),
          "x-amoeba-kind": method.kind,
          "x-amoeba-version": service.version,
          parameters: [{ $ref: "#/components/parameters/Timeout" }],
          requestBody: { required: false, content: { "application/json": { schema: input } } },
          responses: { "200": success, ...ERROR_RESPONSES },
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title ?? "Amoeba edge", version: info.version ?? "1.0.0" },
    ...(info.serverUrl === undefined ? {} : { servers: [{ url: info.serverUrl }] }),
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      responses: { Error: { description: "The call failed; the body says with which code.", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } },
      parameters: {
        Timeout: { name: "X-Timeout", in: "header", required: false, description: "The call's deadline in milliseconds.", schema: { type: "integer", minimum: 1 } },
      },
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  };
}
