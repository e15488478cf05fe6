import type { StandardSchemaV1 } from "./schema.ts";

/**
 * A Standard Schema from a plain check function, for Amoeba's own contracts
 * (which must not depend on a schema library). `check` returns null when the
 * value is acceptable, else what is wrong with it.
 */
export function plainSchema<T>(check: (value: unknown) => string | null): StandardSchemaV1<T, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "amoeba",
      validate(value) {
        const problem = check(value);
        return problem === null ? { value: value as T } : { issues: [{ message: problem }] };
      },
    },
  };
}

/** The input of a built-in method that takes none: `{}`. */
export const emptyInput = plainSchema<Record<string, never>>((v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? null : "expected {}"));
