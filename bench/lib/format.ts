/** Number formats of the printed report. "–" stands for a missing figure. */

const MISSING = "–";

/** A count with thousands separators. */
export function count(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? MISSING : Math.round(value).toLocaleString("en-US");
}

/** Microseconds: one decimal below 100, whole above. */
export function micros(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return MISSING;
  return value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString("en-US");
}

/** A ratio such as `0.82×`. */
export function times(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return MISSING;
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×`;
}

/** Bytes as MB with one decimal. */
export function megabytes(bytes: number | undefined): string {
  return bytes === undefined || !Number.isFinite(bytes) ? MISSING : (bytes / 1024 / 1024).toFixed(1);
}
