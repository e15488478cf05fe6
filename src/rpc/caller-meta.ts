/**
 * Metadata that speaks for a caller: `amoeba-caller` (the end user an edge
 * authenticated) and any `amoeba-caller-<attribute>` next to it. A node
 * believes such keys only from a caller that proved who it is (a verified
 * certificate, the cluster key, its own in-process calls); from anyone else
 * they are dropped before any interceptor or handler sees the call, so no
 * one can pose as an end user by sending them.
 */
import type { Meta } from "../wire/index.ts";

/** The metadata key that carries the end user an edge authenticated. */
export const CALLER_META = "amoeba-caller";

/** `meta` without the keys that speak for a caller; `meta` itself when it has none. */
export function withoutCallerMeta(meta: Readonly<Meta>): Readonly<Meta> {
  let out: Meta | undefined;
  for (const key in meta) {
    if (!key.startsWith(CALLER_META)) continue;
    out ??= { ...meta };
    delete out[key];
  }
  return out ?? meta;
}
