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
  description?: string;
  /** The API's license, for `info.license`. */
  license?: { name: string; url?: string; identifier?: string };
  /** The base URL of the edge as clients reach it, for `servers`. Default: `.`, where the document was read from (mounted edges included). */
  serverUrl?: string;
  /** Whether the edge authenticates callers (`authenticate` set): operations then name the bearer scheme. */
  secured?: boolean;
}

/** A component name from a service and method name: what OpenAPI allows (`^[a-zA-Z0-9._-]+$`). */
function componentName(...parts: string[]): string {
  return parts.join(".").replace(/[^\w.-]/g, "_");
}

/**
 * An OpenAPI 3.1 document of `POST /rpc/{service}/{method}` for every public
 * method: the request body is the input's schema; a unary method answers
 * JSON with the output's schema, a server stream answers Server-Sent Events
 * whose `data` each hold one output item. Schemas a service's library could not
 * export are `{}` (any JSON value). Each method's input and output schemas
 * are reusable components (`<service>.<method>.Input`, `.Output`) that the
 * operations refer to, so generated clients name their types; every
 * operation states its security (the bearer scheme when the edge
 * authenticates, none otherwise) and requires its body.
 */
export function openApiDocument(services: Iterable<EdgeService>, info: OpenApiInfo = {}): object {
  const paths: Record<string, object> = {};
  const schemas: Record<string, unknown> = { Error: ERROR_SCHEMA };
  const security = info.secured ? [{ bearer: [] }] : [];
  for (const service of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const method of [...service.methods.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const streaming = method.kind === "server-stream";
      const takesStream = method.kind === "client-stream" || method.kind === "bidi-stream";
      const inputName = componentName(service.name, method.name, "Input");
      const outputName = componentName(service.name, method.name, "Output");
      schemas[inputName] = takesStream ? { type: "array", items: method.input, description: "The input stream's items, in order." } : method.input;
      const input = { $ref: `#/components/schemas/${inputName}` };
      const streamsOut = streaming || method.kind === "bidi-stream";
      // A stream's item schema sits in an extension, where a reference would count as unused: it stays inline.
      if (!streamsOut) schemas[outputName] = method.output;
      const output = streamsOut ? method.output : { $ref: `#/components/schemas/${outputName}` };
      const success = streamsOut
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
          security,
          requestBody: { required: true, content: { "application/json": { schema: input } } },
          responses: { "200": success, ...ERROR_RESPONSES },
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "Amoeba edge",
      version: info.version ?? "1.0.0",
      description: info.description ?? "The public methods of the services behind this edge: POST /rpc/<service>/<method> with the input as JSON.",
      ...(info.license === undefined ? {} : { license: info.license }),
    },
    servers: [{ url: info.serverUrl ?? ".", description: info.serverUrl === undefined ? "The edge this document was read from." : "The edge." }],
    paths,
    components: {
      schemas,
      responses: { Error: { description: "The call failed; the body says with which code.", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } },
      parameters: {
        Timeout: { name: "X-Timeout", in: "header", required: false, description: "The call's deadline in milliseconds.", schema: { type: "integer", minimum: 1 } },
      },
      ...(info.secured ? { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The token the edge's authenticate hook checks." } } } : {}),
    },
  };
}
