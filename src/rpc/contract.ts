import type { AnySchema } from "./schema.ts";
import { isSchema } from "./schema.ts";
import { parseVersion } from "./version.ts";

/** How a method exchanges values: one each way, or a stream on either or both sides. */
export type MethodKind = "unary" | "server-stream" | "client-stream" | "bidi-stream";

/** A method of a contract: its kind and its schemas. */
export interface MethodDef<K extends MethodKind = MethodKind, I extends AnySchema = AnySchema, O extends AnySchema = AnySchema> {
  readonly kind: K;
  readonly input: I;
  readonly output: O;
  /** Safe to run more than once: callers may retry or hedge it. */
  readonly idempotent: boolean;
  readonly description: string | undefined;
  /**
   * Whether end users may call it through the edge (`startEdge`): true or
   * false when the method says so, else the contract's `public` option decides.
   */
  readonly public?: boolean | undefined;
  /** JSON Schemas given by hand, for schema libraries that cannot export them (see {@link MethodSpec.jsonSchema}). */
  readonly jsonSchema?: MethodJsonSchema | undefined;
}

/** JSON Schemas (draft 2020-12) of a method's input and output, for tools such as the edge's OpenAPI document. */
export interface MethodJsonSchema {
  input?: Record<string, unknown>;
  output?: Record<string, unknown>;
}

/** What a method is declared with. */
export interface MethodSpec<I extends AnySchema, O extends AnySchema> {
  input: I;
  output: O;
  /** Running it twice has the same effect as once. Default false: Amoeba then never runs it twice on its own. */
  idempotent?: boolean;
  description?: string;
  /**
   * Reachable through the edge by end users (HTTP, JSON-RPC, WebSocket).
   * Overrides the contract's `public` option for this method. Default: the
   * contract's, which defaults to false — nothing is public unless marked.
   */
  public?: boolean;
  /**
   * JSON Schemas of the input and output, for the edge's catalog and OpenAPI
   * document. Needed only when the schema library cannot say them itself:
   * schemas that implement Standard JSON Schema (zod 4 does) are converted
   * on their own; others show as `{}` (any value).
   */
  jsonSchema?: MethodJsonSchema;
}

function method<K extends MethodKind, I extends AnySchema, O extends AnySchema>(
  kind: K,
  spec: MethodSpec<I, O>,
): MethodDef<K, I, O> {
  if (!isSchema(spec.input) || !isSchema(spec.output)) {
    throw new TypeError(`a ${kind} method needs Standard Schema values for input and output (zod, valibot, arktype, …)`);
  }
  return Object.freeze({
    kind,
    input: spec.input,
    output: spec.output,
    idempotent: spec.idempotent ?? false,
    description: spec.description,
    public: spec.public,
    jsonSchema: spec.jsonSchema,
  });
}

/** A method taking one value and returning one value. */
export function unary<I extends AnySchema, O extends AnySchema>(spec: MethodSpec<I, O>): MethodDef<"unary", I, O> {
  return method("unary", spec);
}

/** A method taking one value and returning a stream of values (server streaming). */
export function stream<I extends AnySchema, O extends AnySchema>(spec: MethodSpec<I, O>): MethodDef<"server-stream", I, O> {
  return method("server-stream", spec);
}

/** A method taking a stream of values and returning one value (client streaming). */
export function clientStream<I extends AnySchema, O extends AnySchema>(
  spec: MethodSpec<I, O>,
): MethodDef<"client-stream", I, O> {
  return method("client-stream", spec);
}

/** A method taking a stream and returning a stream (bidirectional streaming). */
export function bidiStream<I extends AnySchema, O extends AnySchema>(
  spec: MethodSpec<I, O>,
): MethodDef<"bidi-stream", I, O> {
  return method("bidi-stream", spec);
}

/** The methods of a contract. */
export type MethodMap = Record<string, MethodDef>;

/** A service definition: name, semver version and methods. Share it between servers and clients. */
export interface Contract<N extends string = string, M extends MethodMap = MethodMap> {
  readonly name: N;
  readonly version: string;
  readonly methods: Readonly<M>;
  /** Whether its methods are reachable through the edge unless a method says otherwise (see {@link ContractOptions}). */
  readonly public?: boolean | undefined;
}

/** Options of a contract. */
export interface ContractOptions {
  /**
   * End users may call its methods through the edge (`startEdge`): HTTP,
   * JSON-RPC and WebSocket. A method's own `public` overrides it. Default
   * false: the edge answers 404 for everything not marked public.
   */
  public?: boolean;
}

const SERVICE_NAME = /^[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*$/;
const METHOD_NAME = /^[A-Za-z_$][\w$]*$/;
// These would shadow what every object has; a contract must not define them.
const RESERVED_METHODS = new Set(["constructor", "__proto__", "toString", "valueOf", "hasOwnProperty", "then"]);

/**
 * Defines a service.
 *
 * @example
 * const Calculator = contract("calculator", "1.2.0", {
 *   add: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number(), idempotent: true }),
 * }, { public: true }); // reachable by end users through the edge
 */
export function contract<const N extends string, M extends MethodMap>(name: N, version: string, methods: M, options: ContractOptions = {}): Contract<N, M> {
  if (!SERVICE_NAME.test(name)) {
    throw new TypeError(`service name "${name}" must be letters, digits, '_' or '-', in dot-separated words`);
  }
  if (!parseVersion(version)) throw new TypeError(`service ${name}: version "${version}" is not semver MAJOR.MINOR.PATCH`);
  const table = Object.create(null) as M;
  for (const [methodName, def] of Object.entries(methods)) {
    if (!METHOD_NAME.test(methodName) || RESERVED_METHODS.has(methodName)) {
      throw new TypeError(`service ${name}: "${methodName}" cannot be a method name`);
    }
    if (typeof def !== "object" || def === null || !("kind" in def)) {
      throw new TypeError(`service ${name}: method ${methodName} must be made with unary(), stream(), clientStream() or bidiStream()`);
    }
    (table as MethodMap)[methodName] = def;
  }
  return Object.freeze({ name, version, methods: Object.freeze(table), public: options.public === true });
}

/** Whether end users may call `method` of `contract` through the edge: the method's flag, else the contract's. */
export function isPublicMethod(contract: Contract, def: MethodDef): boolean {
  return def.public ?? contract.public ?? false;
}

/** A typed event topic: a name and the schema of its payload. */
export interface Topic<N extends string = string, S extends AnySchema = AnySchema> {
  readonly topic: N;
  readonly schema: S;
}

/** Declares an event topic with a payload schema, for typed `publish` and `subscribe`. */
export function topic<const N extends string, S extends AnySchema>(name: N, schema: S): Topic<N, S> {
  if (!SERVICE_NAME.test(name)) throw new TypeError(`topic "${name}" must be letters, digits, '_' or '-', in dot-separated words`);
  if (!isSchema(schema)) throw new TypeError(`topic ${name} needs a Standard Schema for its payload`);
  return Object.freeze({ topic: name, schema });
}
