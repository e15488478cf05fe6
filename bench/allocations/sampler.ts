import inspector from "node:inspector";

/** One function's share of what a process allocated: bytes per call, by its own allocations. */
export interface Allocator {
  name: string;
  bytesPerCall: number;
}

/** What a process allocated while sampled, per call. */
export interface AllocationFigures {
  bytesPerCall: number;
  top: Allocator[];
}

interface SampledNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampledNode[];
}

/**
 * V8's sampling heap profiler in this process, counting what the garbage
 * collector has already freed too: every allocation made while sampling,
 * not only what is still alive at the end.
 */
export class AllocationSampler {
  readonly #session = new inspector.Session();

  constructor() {
    this.#session.connect();
  }

  async start(): Promise<void> {
    await this.#post("HeapProfiler.enable");
    await this.#post("HeapProfiler.startSampling", { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }

  /** Stops sampling; the bytes allocated meanwhile over `calls`, with the `top` functions that allocated most. */
  async stop(calls: number, top = 12): Promise<AllocationFigures> {
    const { profile } = (await this.#post("HeapProfiler.stopSampling")) as { profile: { head: SampledNode } };
    const bySite = new Map<string, number>();
    let total = 0;
    const walk = (node: SampledNode): void => {
      if (node.selfSize > 0) {
        const frame = node.callFrame;
        const file = frame.url.replace(/^.*\/(src|dist|node_modules|bench)\//, "$1/");
        const name = `${frame.functionName || "(anonymous)"} ${file}`.trim();
        bySite.set(name, (bySite.get(name) ?? 0) + node.selfSize);
        total += node.selfSize;
      }
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    const sorted = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top);
    return { bytesPerCall: total / calls, top: sorted.map(([name, bytes]) => ({ name, bytesPerCall: bytes / calls })) };
  }

  #post(method: string, params: object = {}): Promise<unknown> {
    return new Promise((resolve, reject) => this.#session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  }
}
