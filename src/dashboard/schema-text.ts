/**
 * JSON Schemas for people, on the command line: the same functions the
 * dashboard's page runs (page/schema-script.ts), so that `amoeba describe`
 * and the page's call form show the same types and examples.
 */
import { SCHEMA_SCRIPT } from "./page/schema-script.ts";

interface SchemaFunctions {
  typeText(schema: unknown): string;
  exampleOf(schema: unknown, depth?: number): unknown;
}

// The script is Amoeba's own constant text, written once for the browser; Node runs the same text.
const functions = new Function(`"use strict";${SCHEMA_SCRIPT}\nreturn { typeText: typeText, exampleOf: exampleOf };`)() as SchemaFunctions;

/**
 * A JSON Schema as a TypeScript user reads it, constraints in comments:
 * `{ a: number; b: number }`, `string  // email`.
 */
export function typeText(schema: unknown): string {
  return functions.typeText(schema);
}

/** A value that satisfies `schema`: its own example or default when it has one, else one built within its bounds. */
export function exampleOf(schema: unknown): unknown {
  return functions.exampleOf(schema);
}
