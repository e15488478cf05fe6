import assert from "node:assert/strict";
import { test } from "node:test";
import { withTeardown } from "../rpc/support.ts";
import { Probe, probeInstance } from "../balance/fixture.ts";

/** The value of one sample line of a text exposition, or undefined. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((each) => each.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

test("a node with metrics counts what it serves and calls, per code, with latencies, retries and bytes", () =>
  withTeardown(async (td) => {
    const good = probeInstance("good");
    const bad = probeInstance("bad", { delayMs: 0, failShare: 0, failWith: "UNAVAILABLE" });
    const servers = [];
    for (const [name, instance] of [["good", good], ["bad", bad]] as const) {
      const server = await td.node({ name, listen: "tcp://127.0.0.1:0", metrics: true });
      server.serve(Probe, instance.handlers);
      servers.push(server);
    }
    const caller = await td.node({ name: "caller", metrics: true });
    for (const server of servers) await caller.connect(server.addresses[0]!);
    const client = caller.client(Probe, { balance: { strategy: "round-robin" } });
    for (let i = 0; i < 10; i++) assert.equal(await client.who({}), "good", "idempotent calls that fail on bad are retried on good");

    const served = servers[0]!.metricsText()!;
    assert.equal(sample(served, 'amoeba_server_calls_total{service="balance.probe",method="who",code="OK"}'), 10);
    assert.equal(sample(served, 'amoeba_server_call_seconds_count{service="balance.probe",method="who"}'), 10);
    assert.equal(sample(served, 'amoeba_server_in_flight{service="",version=""}'), 0);
    assert.ok(sample(served, "amoeba_received_bytes_total")! > 0 && sample(served, "amoeba_sent_bytes_total")! > 0, "bytes counted");
    const refused = servers[1]!.metricsText()!;
    assert.equal(sample(refused, 'amoeba_server_calls_total{service="balance.probe",method="who",code="UNAVAILABLE"}'), bad.served);

    const called = caller.metricsText()!;
    assert.equal(sample(called, 'amoeba_client_calls_total{service="balance.probe",method="who",code="OK"}'), 10);
    assert.equal(sample(called, 'amoeba_client_calls_total{service="balance.probe",method="who",code="UNAVAILABLE"}'), bad.served);
    assert.equal(sample(called, 'amoeba_client_retries_total{service="balance.probe"}'), bad.served, "one retry per failed attempt");
    assert.equal(sample(called, 'amoeba_peer_call_seconds_count{peer="good"}'), 10);
    assert.equal(sample(called, 'amoeba_client_outstanding{service="balance.probe"}'), 0);
    assert.match(called, /# TYPE amoeba_client_call_seconds histogram\n/);
  }));

test("metrics are off by default and cost nothing then", () =>
  withTeardown(async (td) => {
    const node = await td.node({ name: "plain" });
    assert.equal(node.metrics, null);
    assert.equal(node.metricsText(), undefined);
  }));
