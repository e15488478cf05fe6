import { contract, unary } from "../rpc/contract.ts";
import { emptyInput, plainSchema } from "../rpc/plain-schema.ts";
import type { AdmissionStats } from "../rpc/admission.ts";
import type { ServiceStats } from "./service-balancer.ts";
import type { ServedMethodStats } from "../metrics/node-metrics.ts";

/** What `node.stats()` returns, and `amoeba.stats` answers. */
export interface NodeStats {
  node: string;
  nodeId: string;
  /** The instances of each service this node calls, as its balancers see them. */
  services: ServiceStats[];
  /** Calls this node serves: in flight, limits and calls shed, node-wide and per contract. */
  server: AdmissionStats;
  /**
   * Per method this node served: calls by outcome and latency buckets since it
   * started. Only when the node keeps metrics (`metrics: true`); `amoeba top`
   * turns two readings into rates and percentiles.
   */
  methods?: ServedMethodStats[];
}

/**
 * Every node serves this contract, so that tools (`amoeba ls --stats`, the
 * dashboard) can gather what each node's balancers see of the others.
 */
export const StatsContract = contract("amoeba.stats", "1.0.0", {
  get: unary({
    input: emptyInput,
    output: plainSchema<NodeStats>(() => null),
    idempotent: true,
    description: "What this node's balancers see of the instances it calls, and the calls it serves.",
  }),
});
