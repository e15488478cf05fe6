/**
 * The `traces` option, in a file of its own: the published types of
 * `startNode` reach it, and must not reach the tracer, whose types import the
 * optional `@opentelemetry/api`.
 */

/** How a node traces its calls: the `traces` option of `startNode`. */
export interface TracesOptions {
  /**
   * Keep this node's last `recent` calls, made and served, with their trace
   * and span ids and timings, for `node.recentCalls()` and the built-in
   * `amoeba.traces` service. An integer from 0 to 100 000; default 0 (none).
   */
  recent?: number;
  /**
   * Spans through `@opentelemetry/api`. By default they are on when the API is
   * installed and an SDK registered a tracer provider before the node started;
   * `false` turns them off; `true` makes them even with no provider yet.
   */
  otel?: boolean;
}
