import type { LoadResult } from "./messages.ts";
import { median } from "./stats.ts";

/** One run of one scenario on one system, with the server's peak RSS and CPU per call meanwhile. */
export interface Sample {
  /** Which run of the bench (0-based). */
  run: number;
  result: LoadResult;
  rssBytes: number | undefined;
  /** Server CPU µs per call; undefined when there is no separate server process. */
  serverCpuUs: number | undefined;
}

/** A reported figure: each number the median of its runs. */
export interface Figure {
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  rssBytes: number;
  /** CPU µs per call: the server's, and server plus client (the one process for in-process). */
  serverCpuUs: number;
  totalCpuUs: number;
  /** Failed or wrong calls, summed over runs (should be 0). */
  errors: number;
  /** Runs the time cap cut short. */
  truncated: number;
  runs: number;
}

/** Every sample of a bench, keyed by system and scenario, and the errors of systems that failed. */
export class Figures {
  readonly #samples = new Map<string, Sample[]>();
  /** Why systems failed, by system id. */
  readonly failures = new Map<string, string[]>();

  /** Records one sample. */
  add(system: string, scenario: string, sample: Sample): void {
    const key = `${system}|${scenario}`;
    const list = this.#samples.get(key) ?? [];
    list.push(sample);
    this.#samples.set(key, list);
  }

  /** Records that a system failed (it is then left out of that run). */
  fail(system: string, message: string): void {
    const list = this.failures.get(system) ?? [];
    list.push(message);
    this.failures.set(system, list);
  }

  /** The samples of one system and scenario, in run order. */
  samples(system: string, scenario: string): readonly Sample[] {
    return this.#samples.get(`${system}|${scenario}`) ?? [];
  }

  /** Medians over runs; undefined when the system never completed that scenario. */
  get(system: string, scenario: string): Figure | undefined {
    const list = this.samples(system, scenario);
    if (list.length === 0) return undefined;
    return {
      callsPerSec: median(list.map((sample) => sample.result.callsPerSec)),
      p50Us: median(list.map((sample) => sample.result.p50Us)),
      p99Us: median(list.map((sample) => sample.result.p99Us)),
      rssBytes: median(list.map((sample) => sample.rssBytes ?? Number.NaN)),
      serverCpuUs: median(list.map((sample) => sample.serverCpuUs ?? Number.NaN)),
      totalCpuUs: median(list.map((sample) => (sample.serverCpuUs ?? 0) + sample.result.clientCpuUs)),
      errors: list.reduce((sum, sample) => sum + sample.result.errors, 0),
      truncated: list.filter((sample) => sample.result.truncated).length,
      runs: list.length,
    };
  }

  /**
   * A ratio between two systems taken within each run, then the median over
   * runs: the figure that cancels the machine's drift between runs.
   */
  ratioByRun(system: string, other: string, scenario: string, pick: (sample: Sample) => number): number {
    const others = new Map(this.samples(other, scenario).map((sample) => [sample.run, sample]));
    const ratios = this.samples(system, scenario).flatMap((sample) => {
      const match = others.get(sample.run);
      return match ? [pick(sample) / pick(match)] : [];
    });
    return median(ratios);
  }

  /** The highest median RSS of a system over the given scenarios: its footprint under load. */
  peakRss(system: string, scenarios: readonly string[]): number {
    const values = scenarios.map((scenario) => this.get(system, scenario)?.rssBytes ?? Number.NaN).filter(Number.isFinite);
    return values.length === 0 ? Number.NaN : Math.max(...values);
  }
}
