/**
 * Status codes of a failed call. The set and the numbers are gRPC's, so that
 * anyone who knows gRPC knows what each means; the numbers go on the wire.
 */
export const STATUS_CODES = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** The name of a status code, e.g. `"NOT_FOUND"`. */
export type StatusCode = keyof typeof STATUS_CODES;

const BY_NUMBER = new Map<number, StatusCode>(
  Object.entries(STATUS_CODES).map(([name, number]) => [number, name as StatusCode]),
);

/** The wire number of a code. */
export function statusNumber(code: StatusCode): number {
  return STATUS_CODES[code];
}

/** The code of a wire number; UNKNOWN for a number outside the set. */
export function statusFromNumber(number: number): StatusCode {
  return BY_NUMBER.get(number) ?? "UNKNOWN";
}

/** Whether `value` names a status code. */
export function isStatusCode(value: unknown): value is StatusCode {
  return typeof value === "string" && Object.hasOwn(STATUS_CODES, value);
}
