import {
  bidiStream,
  clientStream,
  contract,
  stream,
  satisfies,
  unary,
  type Contract,
  type MethodDef,
  type MethodKind,
  type StandardSchemaV1,
} from "../index.ts";

/**
 * A Standard Schema that accepts any value as is. The caller has no types,
 * and checking belongs to the callee anyway: it validates every input against
 * its own contract and answers INVALID_ARGUMENT with the issues.
 */
export const anyValue: StandardSchemaV1<unknown, unknown> = Object.freeze({
  "~standard": Object.freeze({
    version: 1 as const,
    vendor: "amoeba-cli",
    validate: (value: unknown) => ({ value }),
  }),
});

/** The method kinds, as `--kind` spells them. */
export const METHOD_KINDS: readonly MethodKind[] = ["unary", "server-stream", "client-stream", "bidi-stream"];

/**
 * A one-method contract built at run time, enough for a client to place a
 * call without the service's TypeScript contract: the name and version come
 * from the command line and the callee's handshake, the kind from the user.
 */
export function dynamicContract(service: string, version: string, method: string, kind: MethodKind): Contract {
  const spec = { input: anyValue, output: anyValue };
  const makers: Record<MethodKind, () => MethodDef> = {
    unary: () => unary(spec),
    "server-stream": () => stream(spec),
    "client-stream": () => clientStream(spec),
    "bidi-stream": () => bidiStream(spec),
  };
  return contract(service, version, { [method]: makers[kind]() });
}

/**
 * The newest version of `service` among what a node serves (its handshake's
 * `[name, version]` list), within `range` when given; undefined when it serves none.
 */
export function newestVersion(served: ReadonlyArray<readonly [string, string]>, service: string, range?: string): string | undefined {
  let best: string | undefined;
  for (const [name, version] of served) {
    if (range !== undefined && !satisfies(version, range)) continue;
    if (name === service && (best === undefined || compareVersions(version, best) > 0)) best = version;
  }
  return best;
}

function compareVersions(a: string, b: string): number {
  const left = a.split(/[.+-]/, 3).map(Number);
  const right = b.split(/[.+-]/, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
