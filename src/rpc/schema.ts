import type { StandardSchemaV1 } from "@standard-schema/spec";

export type { StandardSchemaV1 };

/** Any Standard Schema (zod 4, valibot, arktype, …). */
export type AnySchema = StandardSchemaV1<any, any>;

/** The type a schema accepts. */
export type SchemaInput<S extends AnySchema> = StandardSchemaV1.InferInput<S>;

/** The type a schema produces. */
export type SchemaOutput<S extends AnySchema> = StandardSchemaV1.InferOutput<S>;

/** One problem a schema found, flattened for the wire: a message and a dotted path. */
export interface SchemaIssue {
  message: string;
  path: string;
}

/** The outcome of a validation. */
export type Validation = { ok: true; value: unknown } | { ok: false; issues: SchemaIssue[] };

/**
 * Validates `value`. Returns synchronously when the schema does (most do), so
 * the hot path awaits nothing.
 */
export function validate(schema: AnySchema, value: unknown): Validation | Promise<Validation> {
  const result = schema["~standard"].validate(value);
  return result instanceof Promise ? result.then(toValidation) : toValidation(result);
}

function toValidation(result: StandardSchemaV1.Result<unknown>): Validation {
  if (result.issues === undefined) return { ok: true, value: result.value };
  return { ok: false, issues: result.issues.map(flattenIssue) };
}

function flattenIssue(issue: StandardSchemaV1.Issue): SchemaIssue {
  const path = (issue.path ?? [])
    .map((segment) => String(typeof segment === "object" && segment !== null ? segment.key : segment))
    .join(".");
  return { message: issue.message, path };
}

/** Whether `value` looks like a Standard Schema. */
export function isSchema(value: unknown): value is AnySchema {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { "~standard"?: { validate?: unknown } })["~standard"]?.validate === "function"
  );
}
