import { contract, unary, type Contract, type MethodKind } from "./contract.ts";
import { plainSchema } from "./plain-schema.ts";
import type { ServiceRegistry } from "./registry.ts";

/** What reflection tells of one served service. */
export interface ServiceDescription {
  name: string;
  version: string;
  methods: Array<{ name: string; kind: MethodKind; idempotent: boolean; description?: string }>;
}

/**
 * Every node serves this contract, so that tools without the TypeScript
 * contracts (the `amoeba` command, the edge, the dashboard) can learn which
 * methods a service has and of what kind.
 */
export const ReflectionContract = contract("amoeba.reflect", "1.0.0", {
  describe: unary({
    input: plainSchema<{ service?: string }>((v) =>
      typeof v === "object" && v !== null && ((v as { service?: unknown }).service === undefined || typeof (v as { service?: unknown }).service === "string")
        ? null
        : "expected { service?: string }",
    ),
    output: plainSchema<ServiceDescription[]>(() => null),
    idempotent: true,
    description: "The services this node serves, with their methods' names and kinds.",
  }),
});

/** Describes what `registry` serves (one service when `service` is given). */
export function describeServices(registry: ServiceRegistry, service?: string): ServiceDescription[] {
  return registry
    .contracts()
    .filter((c: Contract) => service === undefined || c.name === service)
    .map((c) => ({
      name: c.name,
      version: c.version,
      methods: Object.entries(c.methods).map(([name, def]) => ({
        name,
        kind: def.kind,
        idempotent: def.idempotent,
        ...(def.description === undefined ? {} : { description: def.description }),
      })),
    }));
}

/** Whether `name` is one of Amoeba's own services (`amoeba.*`), which listings for people leave out. */
export function isBuiltInService(name: string): boolean {
  return name.startsWith("amoeba.");
}
