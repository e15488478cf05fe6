import { Child } from "./children.ts";
import type { BenchConfig } from "./config.ts";
import type { MicroResult, OverheadResult } from "./messages.ts";

const OVERHEAD = new URL("../targets/amoeba-inproc-overhead.ts", import.meta.url);
const MICRO = new URL("../micro/wire-codec.ts", import.meta.url);

/** The in-process call cost, measured in a fresh process (not one warmed by other systems). */
export async function measureOverhead(config: BenchConfig): Promise<OverheadResult> {
  const child = new Child("in-process overhead", OVERHEAD, { calls: config.overheadCalls });
  try {
    return (await child.expect("overhead", 120_000)).result;
  } finally {
    await child.stop();
  }
}

/** The wire codec micro-benchmarks, in a fresh process. */
export async function measureMicro(config: BenchConfig): Promise<MicroResult[]> {
  const child = new Child("wire micro-benchmark", MICRO, { budgetMs: config.microMs });
  try {
    return (await child.expect("micro", 60_000)).results;
  } finally {
    await child.stop();
  }
}
