import { isRpcError, ReflectionContract, type CallOptions, type ClientOptions, type MethodKind, type Peer } from "../index.ts";
import { newestVersion } from "../dashboard/dynamic-contract.ts";

/** What a node says of one method of a service it serves. */
export interface ReflectedMethod {
  /** The newest version of the service served there. */
  readonly version: string;
  readonly kind: MethodKind;
}

/**
 * Asks the node's reflection service (`amoeba.reflect.describe`, served by
 * every node) for the kind of `service.method` (in the newest version within
 * `range`, when given). Undefined when the node does
 * not know that method (`onMiss` then hears the names it does know) or has no reflection service (an older node): the
 * call then goes out as asked, and the callee's own error says what is wrong.
 */
export async function reflectMethod(
  peer: Peer,
  service: string,
  method: string,
  clientOptions: ClientOptions,
  callOptions: CallOptions,
  range?: string,
  onMiss?: (known: { services: string[]; methods: string[] }) => void,
): Promise<ReflectedMethod | undefined> {
  let described;
  try {
    described = await peer.client(ReflectionContract, clientOptions).describe({ service }, callOptions);
  } catch (error) {
    if (isRpcError(error) && (error.code === "NOT_FOUND" || error.code === "UNIMPLEMENTED")) return undefined;
    throw error;
  }
  const version = newestVersion(
    described.map((entry) => [entry.name, entry.version] as const),
    service,
    range,
  );
  const served = described.find((entry) => entry.name === service && entry.version === version);
  const kind = served?.methods.find((entry) => entry.name === method)?.kind;
  if (kind === undefined) onMiss?.({ services: described.map((entry) => entry.name).filter((name) => !name.startsWith("amoeba.")), methods: served?.methods.map((entry) => entry.name) ?? [] });
  return version !== undefined && kind !== undefined ? { version, kind } : undefined;
}
