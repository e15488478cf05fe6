import { contract, isPublicMethod, unary, type Contract, type MethodDef, type MethodKind } from "./contract.ts";
import { plainSchema } from "./plain-schema.ts";
import type { ServiceRegistry } from "./registry.ts";
import type { AnySchema } from "./schema.ts";

/** What reflection tells of one method. */
export interface MethodDescription {
  name: string;
  kind: MethodKind;
  idempotent: boolean;
  description?: string;
  /** Reachable by end users through the edge (the method's or the contract's `public`). Absent from older nodes: not public. */
  public?: boolean;
  /** JSON Schema (draft 2020-12) of the input (of each item, for a client stream); `{}` when unknown. Absent from older nodes. */
  input?: Record<string, unknown>;
  /** JSON Schema of the output (of each item, for a stream); `{}` when unknown. Absent from older nodes. */
  output?: Record<string, unknown>;
}

/** What reflection tells of one served service. */
export interface ServiceDescription {
  name: string;
  version: string;
  methods: MethodDescription[];
}

/** The most services one describe call may name (`services`): a gateway describes thousands in pages of this size. */
export const MAX_DESCRIBED = 500;

/**
 * Every node serves this contract, so that tools without the TypeScript
 * contracts (the `amoeba` command, the edge, the dashboard) can learn which
 * methods a service has and of what kind.
 */
export const ReflectionContract = contract("amoeba.reflect", "1.0.0", {
  describe: unary({
    input: plainSchema<{ service?: string; services?: string[] }>((v) => {
      if (typeof v !== "object" || v === null) return "expected { service?: string, services?: string[] }";
      const { service, services } = v as { service?: unknown; services?: unknown };
      if (service !== undefined && typeof service !== "string") return "service must be a string";
      if (services !== undefined && !(Array.isArray(services) && services.length <= MAX_DESCRIBED && services.every((name) => typeof name === "string"))) {
        return `services must be a list of at most ${MAX_DESCRIBED} names`;
      }
      return null;
    }),
    output: plainSchema<ServiceDescription[]>(() => null),
    idempotent: true,
    description: "The services this node serves, with their methods' names, kinds, public marks and JSON Schemas.",
  }),
});

/**
 * Describes what `registry` serves (one service when `service` is given,
 * those named when `services` is):
 * methods with their kinds, whether the edge may expose them, and their JSON
 * Schemas (which the edge turns into its catalog and OpenAPI document).
 */
export function describeServices(registry: ServiceRegistry, service?: string, services?: readonly string[]): ServiceDescription[] {
  const named = services === undefined ? undefined : new Set(services);
  return registry
    .contracts()
    .filter((c: Contract) => (service === undefined || c.name === service) && (named === undefined || named.has(c.name)))
    .map((c) => ({
      name: c.name,
      version: c.version,
      methods: Object.entries(c.methods).map(([name, def]) => ({
        name,
        kind: def.kind,
        idempotent: def.idempotent,
        ...(def.description === undefined ? {} : { description: def.description }),
        public: isPublicMethod(c, def),
        ...methodJsonSchemas(def),
      })),
    }));
}

const jsonSchemaCache = new WeakMap<MethodDef, { input: Record<string, unknown>; output: Record<string, unknown> }>();

/**
 * The JSON Schemas of a method's input and output: those given by hand in the
 * method's spec, else what the schema library exports through Standard JSON
 * Schema (`~standard.jsonSchema`, as zod 4 has), else `{}` — any value — for a
 * library that cannot say (or a schema it cannot express, such as a transform).
 */
export function methodJsonSchemas(def: MethodDef): { input: Record<string, unknown>; output: Record<string, unknown> } {
  let found = jsonSchemaCache.get(def);
  if (!found) {
    found = {
      input: def.jsonSchema?.input ?? exportJsonSchema(def.input, "input"),
      output: def.jsonSchema?.output ?? exportJsonSchema(def.output, "output"),
    };
    jsonSchemaCache.set(def, found);
  }
  return found;
}

type Converter = Partial<Record<"input" | "output", (options: { target: string }) => unknown>>;

function exportJsonSchema(schema: AnySchema, side: "input" | "output"): Record<string, unknown> {
  const converter = (schema["~standard"] as { jsonSchema?: Converter }).jsonSchema;
  const convert = converter?.[side];
  if (typeof convert !== "function") return {};
  try {
    const out = convert({ target: "draft-2020-12" });
    if (typeof out !== "object" || out === null || Array.isArray(out)) return {};
    // The dialect is implied where these schemas go (reflection, OpenAPI 3.1).
    const { $schema: _dialect, ...rest } = out as Record<string, unknown>;
    return rest;
  } catch {
    return {};
  }
}

/** Whether `name` is one of Amoeba's own services (`amoeba.*`), which listings for people leave out. */
export function isBuiltInService(name: string): boolean {
  return name.startsWith("amoeba.");
}
