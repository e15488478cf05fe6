import { contract, stream, unary } from "../../rpc/contract.ts";
import { plainSchema } from "../../rpc/plain-schema.ts";
import type { Member, MemberRecord, MembershipEvent } from "../types.ts";

const isString = (v: unknown): v is string => typeof v === "string";
const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every(isString);

/** Checks a MemberRecord sent to the registry; null when it is acceptable. */
export function recordProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null) return "a member record must be an object";
  const r = v as Partial<MemberRecord>;
  if (!isString(r.id) || r.id === "" || r.id.length > 128) return "id must be a non-empty string of at most 128 characters";
  if (!isString(r.name) || r.name === "" || r.name.length > 128) return "name must be a non-empty string of at most 128 characters";
  if (!isString(r.cluster) || !isString(r.gossip)) return "cluster and gossip must be strings";
  if (!Array.isArray(r.addresses) || r.addresses.length > 16 || !r.addresses.every(isString)) return "addresses must be at most 16 strings";
  if (!isStringMap(r.labels)) return "labels must map strings to strings";
  if (
    !Array.isArray(r.services) ||
    r.services.length > 20_000 ||
    !r.services.every((s) => Array.isArray(s) && s.length === 2 && isString(s[0]) && isString(s[1]))
  ) {
    return "services must be a list of [name, version]";
  }
  if (typeof r.load !== "number" || !Number.isFinite(r.load)) return "load must be a number";
  return null;
}

/** What a registry says of itself. */
export interface RegistryHello {
  /** Random per start of the registry: a new one means an empty table filling up again. */
  boot: string;
  /** Time since it started, ms (its own clock: no skew). */
  uptimeMs: number;
}

/**
 * The registry's own service: Amoeba's client-server look-up is an Amoeba
 * service like any other.
 */
export const RegistryContract = contract("amoeba.registry", "1.0.0", {
  register: unary({
    input: plainSchema<{ record: MemberRecord; ttl: number }>((v) => {
      const input = v as { record?: unknown; ttl?: unknown };
      if (typeof v !== "object" || v === null) return "expected { record, ttl }";
      if (typeof input.ttl !== "number" || !(input.ttl >= 100 && input.ttl <= 3_600_000)) return "ttl must be between 100 ms and 1 h";
      return recordProblem(input.record);
    }),
    output: plainSchema<{ ttl: number }>(() => null),
    idempotent: true,
    description: "Registers or refreshes a node's record; it expires after ttl ms without a refresh.",
  }),
  deregister: unary({
    input: plainSchema<{ id: string }>((v) => (isString((v as { id?: unknown })?.id) ? null : "expected { id }")),
    output: plainSchema<{ removed: boolean }>(() => null),
    idempotent: true,
    description: "Removes a node's record: it left.",
  }),
  members: unary({
    input: plainSchema<Record<string, never>>(() => null),
    output: plainSchema<Member[]>(() => null),
    idempotent: true,
    description: "Every member the registry knows, with its state.",
  }),
  hello: unary({
    input: plainSchema<Record<string, never>>(() => null),
    output: plainSchema<RegistryHello>(() => null),
    idempotent: true,
    description: "How long this registry has been up: a table younger than a member's TTL may not list it yet.",
  }),
  watch: stream({
    input: plainSchema<Record<string, never>>(() => null),
    output: plainSchema<MembershipEvent>(() => null),
    description: "A 'join' event for every member known now, then every change.",
  }),
});
