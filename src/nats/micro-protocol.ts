/**
 * The shapes of the NATS micro protocol (`$SRV.PING`, `$SRV.INFO`,
 * `$SRV.STATS`) as Amoeba speaks it: the answers' types, the metadata keys a
 * node puts on its services, and how names, subjects and status codes map.
 */
import type { StatusCode } from "../rpc/status.ts";
import { parseVersion } from "../rpc/version.ts";

/** The type strings of the micro protocol's answers. */
export const MICRO_TYPES = {
  ping: "io.nats.micro.v1.ping_response",
  info: "io.nats.micro.v1.info_response",
  stats: "io.nats.micro.v1.stats_response",
} as const;

/** The queue group of every endpoint, the protocol's default. */
export const QUEUE_GROUP = "q";

/** Metadata keys a node puts on its micro services; look-up reads them back. */
export const META = {
  service: "amoeba.service",
  node: "amoeba.node",
  nodeName: "amoeba.node_name",
  cluster: "amoeba.cluster",
  addresses: "amoeba.addresses",
  labels: "amoeba.labels",
} as const;

/** The standard fields of every answer. */
export interface MicroIdentity {
  type: string;
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

/** One endpoint as `$SRV.INFO` describes it. */
export interface MicroEndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

/** `$SRV.INFO`'s answer. */
export interface MicroInfo extends MicroIdentity {
  description: string;
  endpoints: MicroEndpointInfo[];
}

/** One endpoint as `$SRV.STATS` describes it. */
export interface MicroEndpointStats {
  name: string;
  subject: string;
  queue_group: string;
  num_requests: number;
  num_errors: number;
  last_error: string;
  processing_time: number;
  average_processing_time: number;
  data?: unknown;
}

/** `$SRV.STATS`'s answer. */
export interface MicroStats extends MicroIdentity {
  endpoints: MicroEndpointStats[];
  started: string;
}

/**
 * A name the micro protocol accepts (letters, digits, '-', '_'): an Amoeba
 * service name with its dots made underscores. The real name is in the
 * metadata (`amoeba.service`).
 */
export function microName(service: string): string {
  return service.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** The subject of a unary method's JSON endpoint. */
export function endpointSubject(prefix: string, service: string, version: string, method: string): string {
  const major = parseVersion(version)?.[0] ?? 0;
  return `${prefix}.svc.${service}.v${major}.${method}`;
}

/** A status code as a number that HTTP-minded tools understand, for `Nats-Service-Error-Code`. */
export function httpStatus(code: StatusCode): number {
  switch (code) {
    case "INVALID_ARGUMENT":
    case "FAILED_PRECONDITION":
    case "OUT_OF_RANGE":
      return 400;
    case "UNAUTHENTICATED":
      return 401;
    case "PERMISSION_DENIED":
      return 403;
    case "NOT_FOUND":
      return 404;
    case "ALREADY_EXISTS":
    case "ABORTED":
      return 409;
    case "RESOURCE_EXHAUSTED":
      return 429;
    case "CANCELLED":
      return 499;
    case "UNIMPLEMENTED":
      return 501;
    case "UNAVAILABLE":
      return 503;
    case "DEADLINE_EXCEEDED":
      return 504;
    default:
      return 500;
  }
}

