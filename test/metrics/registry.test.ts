import assert from "node:assert/strict";
import { test } from "node:test";
import { MetricsRegistry } from "../../src/metrics/registry.ts";

test("counters, gauges and histograms render in the Prometheus text format", () => {
  const registry = new MetricsRegistry();
  const calls = registry.counter("amoeba_calls_total", "Calls served.", ["service", "method", "code"]);
  calls.inc(["calculator", "add", "OK"]);
  calls.inc(["calculator", "add", "OK"], 2);
  calls.inc(["calculator", "add", "NOT_FOUND"]);
  registry.gauge("amoeba_members", "Members by state.", ["state"], () => [[["alive"], 3], [["dead"], 1]]);
  const latency = registry.histogram("amoeba_call_seconds", "Call latency.", ["method"], [0.001, 0.01, 0.1]);
  const add = latency.labels(["add"]);
  for (const seconds of [0.0005, 0.001, 0.005, 0.05, 2]) add.observe(seconds);
  const text = registry.render();
  assert.equal(
    text,
    [
      "# HELP amoeba_calls_total Calls served.",
      "# TYPE amoeba_calls_total counter",
      'amoeba_calls_total{service="calculator",method="add",code="OK"} 3',
      'amoeba_calls_total{service="calculator",method="add",code="NOT_FOUND"} 1',
      "# HELP amoeba_members Members by state.",
      "# TYPE amoeba_members gauge",
      'amoeba_members{state="alive"} 3',
      'amoeba_members{state="dead"} 1',
      "# HELP amoeba_call_seconds Call latency.",
      "# TYPE amoeba_call_seconds histogram",
      'amoeba_call_seconds_bucket{method="add",le="0.001"} 2',
      'amoeba_call_seconds_bucket{method="add",le="0.01"} 3',
      'amoeba_call_seconds_bucket{method="add",le="0.1"} 4',
      'amoeba_call_seconds_bucket{method="add",le="+Inf"} 5',
      'amoeba_call_seconds_sum{method="add"} 2.0565',
      'amoeba_call_seconds_count{method="add"} 5',
      "",
    ].join("\n"),
  );
});

test("label values are escaped; bad names, label counts and buckets are refused", () => {
  const registry = new MetricsRegistry();
  const counter = registry.counter("x_total", "Help with \\ and\nnewline.", ["peer"]);
  counter.inc(['a"b\\c\nd']);
  assert.equal(registry.render(), '# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\nx_total{peer="a\\"b\\\\c\\nd"} 1\n');
  assert.throws(() => registry.counter("x_total", "again"), /twice/);
  assert.throws(() => registry.counter("bad-name", "h"), /not a Prometheus name/);
  assert.throws(() => registry.counter("ok", "h", ["__reserved"]), /not allowed/);
  assert.throws(() => counter.inc([]), /takes 1 label values, got 0/);
  assert.throws(() => registry.histogram("h", "h", [], [1, 0.5]), /ascend/);
});

test("an empty registry renders nothing", () => {
  assert.equal(new MetricsRegistry().render(), "");
});
