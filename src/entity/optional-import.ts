/**
 * Loads a store's client library only when that store is used: `pg`,
 * `ioredis` and `@nats-io/kv` are optional peer dependencies, so a user of
 * the directory store installs none of them.
 */
import { StoreError } from "./errors.ts";

/** Imports `name`, or fails with an UNUSABLE store error that says what to install. */
export async function importOptional<T>(name: string, store: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new StoreError("UNUSABLE", `the ${store} store needs the package ${name}: npm install ${name}`, { cause: error });
    }
    throw error;
  }
}
