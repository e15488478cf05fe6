import type { AllocationFigures } from "./sampler.ts";

/** What `run.ts` tells a side. */
export type SideCommand =
  | { type: "begin"; sample: boolean }
  | { type: "end"; calls: number; sample: boolean }
  | { type: "measure"; calls: number; sample: boolean };

/** What a side reports. */
export type SideReport =
  | { type: "ready"; address: string }
  | { type: "begun" }
  | { type: "ended"; cpuUsPerCall: number; allocations: AllocationFigures | undefined }
  | { type: "measured"; callsPerSec: number; cpuUsPerCall: number; allocations: AllocationFigures | undefined };
