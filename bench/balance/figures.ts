import { median } from "../lib/stats.ts";
import type { FastPathPhase, StrategySample } from "./protocol.ts";

/** The median over runs of one figure of one strategy. */
export function strategyMedian(samples: readonly StrategySample[], strategy: string, pick: (sample: StrategySample) => number): number {
  return median(samples.filter((sample) => sample.strategy === strategy).map(pick));
}

/** `strategy`'s figure ÷ `other`'s, taken within each run, then the median over runs. */
export function strategyRatio(samples: readonly StrategySample[], strategy: string, other: string, pick: (sample: StrategySample) => number): number {
  const ratios: number[] = [];
  for (const sample of samples) {
    if (sample.strategy !== strategy) continue;
    const match = samples.find((each) => each.strategy === other && each.run === sample.run);
    if (match) ratios.push(pick(sample) / pick(match));
  }
  return median(ratios);
}

/**
 * Balanced ÷ fixed calls/s within each round (the two phases run back to
 * back, so a slow spell of the machine hits both), then the median over rounds.
 */
export function roundRatio(phases: readonly FastPathPhase[]): number {
  const ratios: number[] = [];
  for (const balanced of phases) {
    if (balanced.variant !== "balanced") continue;
    const fixed = phases.find((phase) => phase.variant === "fixed" && phase.round === balanced.round);
    if (fixed) ratios.push(balanced.result.callsPerSec / fixed.result.callsPerSec);
  }
  return median(ratios);
}

/** The median over rounds of one figure of one fast-path variant. */
export function phaseMedian(phases: readonly FastPathPhase[], variant: FastPathPhase["variant"], pick: (phase: FastPathPhase) => number): number {
  return median(phases.filter((phase) => phase.variant === variant).map(pick));
}
