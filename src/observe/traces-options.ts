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
  /**
   * With `recent`: keep each served call's input and output as JSON text, cut
   * to this many characters (streams are named, not kept). Bodies may hold
   * personal data and secrets: off (0) by default; at most 65 536.
   */
  bodies?: number;
  /**
   * With `recent`: keep up to this many lines per served call that its
   * handler wrote through `ctx.log` (they are logged as usual too). Off (0)
   * by default; at most 100.
   */
  logs?: number;
}
