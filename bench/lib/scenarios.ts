/** The workloads every system runs: two payloads at two concurrencies. */

/** Which call a scenario makes. */
export type Payload = "small" | "echo4k";

/** One workload. */
export interface Scenario {
  id: string;
  payload: Payload;
  concurrency: number;
  label: string;
}

/** Small object `{a, b}` → sum, and a 4 KiB string echo; each at concurrency 1 and 64. */
export const SCENARIOS: readonly Scenario[] = [
  { id: "small-c1", payload: "small", concurrency: 1, label: "small {a,b}→sum, c=1" },
  { id: "small-c64", payload: "small", concurrency: 64, label: "small {a,b}→sum, c=64" },
  { id: "echo4k-c1", payload: "echo4k", concurrency: 1, label: "4 KiB string echo, c=1" },
  { id: "echo4k-c64", payload: "echo4k", concurrency: 64, label: "4 KiB string echo, c=64" },
];

/**
 * The 4 KiB echo text: printable ASCII from a fixed-seed generator, so every
 * system carries the same bytes and nothing compresses it to a trick.
 */
export const ECHO_TEXT: string = (() => {
  let seed = 0x2545f491;
  let text = "";
  for (let i = 0; i < 4096; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    text += String.fromCharCode(33 + ((seed >>> 0) % 94));
  }
  return text;
})();
