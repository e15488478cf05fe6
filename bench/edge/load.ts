/**
 * The load generator of the edge benchmark, in its own process: autocannon
 * with keep-alive connections POSTing the same JSON body. Sends back
 * requests/s and latency percentiles, then exits.
 */
import autocannon from "autocannon";
import { BODY, PATH } from "./contract.ts";

const { port, connections, seconds } = JSON.parse(process.argv[2] ?? "{}") as { port: number; connections: number; seconds: number };

const result = await autocannon({
  url: `http://127.0.0.1:${port}${PATH}`,
  method: "POST",
  headers: { "content-type": "application/json" },
  body: BODY,
  connections,
  pipelining: 1,
  duration: seconds,
});
process.send!({
  requestsPerSecond: result.requests.average,
  total: result.requests.total,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
});
process.disconnect();
