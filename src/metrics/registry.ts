/**
 * A small Prometheus metrics registry: counters, gauges and histograms with
 * labels, rendered in the text exposition format (version 0.0.4). Recording is
 * a map look-up and an addition: it sits on the call path.
 */

/** Label values in the order of the metric's label names. */
export type LabelValues = readonly string[];

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly labelNames: readonly string[];
  render(out: string[]): void;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Metrics of one node, rendered together. */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();

  /** A counter: a value that only goes up (calls, errors, bytes). */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  /** A gauge read when rendered: `collect` returns its value per label set. */
  gauge(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<[LabelValues, number]>): void {
    this.#add(new Collected("gauge", name, help, labelNames, collect));
  }

  /** A counter kept elsewhere (e.g. in a balancer), read when rendered. */
  counterFrom(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<[LabelValues, number]>): void {
    this.#add(new Collected("counter", name, help, labelNames, collect));
  }

  /** A histogram with the given upper bounds (seconds, ascending); `+Inf` is added. */
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  /** The text exposition of every metric, as `/metrics` serves it. */
  render(): string {
    const out: string[] = [];
    for (const family of this.#families.values()) {
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      family.render(out);
    }
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  }

  #add<T extends Family>(family: T): T {
    if (!NAME.test(family.name)) throw new TypeError(`metric name ${JSON.stringify(family.name)} is not a Prometheus name`);
    for (const label of family.labelNames) if (!LABEL.test(label) || label.startsWith("__")) throw new TypeError(`label name ${JSON.stringify(label)} is not allowed`);
    if (this.#families.has(family.name)) throw new TypeError(`metric ${family.name} is registered twice`);
    this.#families.set(family.name, family);
    return family;
  }
}

/** Seconds: from 100 µs (an in-process call) to 10 s (a slow one). */
export const LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter family; `labels(...)` returns the child to increment (keep it for hot paths). */
export class Counter implements Family {
  readonly type = "counter";
  readonly #children = new Map<string, { values: LabelValues; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** Adds `amount` (≥ 0) for these label values. */
  inc(values: LabelValues = [], amount = 1): void {
    this.labels(values).value += amount;
  }

  /** The child for these label values, made on first use. */
  labels(values: LabelValues): { value: number } {
    const key = keyOf(values, this.labelNames.length, this.name);
    let child = this.#children.get(key);
    if (!child) {
      child = { values: [...values], value: 0 };
      this.#children.set(key, child);
    }
    return child;
  }

  render(out: string[]): void {
    for (const child of this.#children.values()) out.push(`${this.name}${labelText(this.labelNames, child.values)} ${formatNumber(child.value)}`);
  }
}

class Collected implements Family {
  constructor(
    readonly type: "gauge" | "counter",
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly collect: () => Iterable<[LabelValues, number]>,
  ) {}

  render(out: string[]): void {
    for (const [values, value] of this.collect()) {
      keyOf(values, this.labelNames.length, this.name);
      out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(value)}`);
    }
  }
}

/** One label set's buckets of a histogram. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly values: LabelValues,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Counts one observation, in seconds. */
  observe(seconds: number): void {
    const bounds = this.bounds;
    // Cumulative buckets are summed at render time: one increment per observation.
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** A histogram family. */
export class Histogram implements Family {
  readonly type = "histogram";
  readonly #children = new Map<string, HistogramChild>();
  readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new TypeError(`histogram ${name}: buckets must ascend`);
    this.bounds = [...buckets];
  }

  /** The child for these label values, made on first use. */
  labels(values: LabelValues): HistogramChild {
    const key = keyOf(values, this.labelNames.length, this.name);
    let child = this.#children.get(key);
    if (!child) {
      child = new HistogramChild([...values], this.bounds);
      this.#children.set(key, child);
    }
    return child;
  }

  render(out: string[]): void {
    for (const child of this.#children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += child.counts[i]!;
        out.push(`${this.name}_bucket${labelText([...this.labelNames, "le"], [...child.values, formatNumber(this.bounds[i]!)])} ${cumulative}`);
      }
      out.push(`${this.name}_bucket${labelText([...this.labelNames, "le"], [...child.values, "+Inf"])} ${child.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, child.values)} ${formatNumber(child.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, child.values)} ${child.count}`);
    }
  }
}

function keyOf(values: LabelValues, expected: number, name: string): string {
  if (values.length !== expected) throw new TypeError(`metric ${name} takes ${expected} label values, got ${values.length}`);
  return values.length === 1 ? values[0]! : values.join("\u0000");
}

function labelText(names: readonly string[], values: LabelValues): string {
  if (names.length === 0) return "";
  return `{${names.map((name, i) => `${name}="${escapeValue(values[i]!)}"`).join(",")}}`;
}

function escapeValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
