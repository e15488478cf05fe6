// The edge's calls pass its node's server chain: a server interceptor on the edge's node sees each end
// user as the caller, may refuse them before any service is reached, and may add metadata the handler sees.
// The edge's own authorization policy comes first, deciding each call by the edge:<user> principal.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startEdge, type Edge } from "../../src/edge/index.ts";
import { RpcError, startNode, type Node, type ServerInterceptor } from "../../src/index.ts";
import { recordingLogger } from "../conformance/helpers.ts";
import { jsonrpc, newSeen, rpc, Shop, shopHandlers } from "./fixture.ts";

const KEY = "pipeline test key";

describe("edge: calls pass the edge node's server chain", () => {
  const seen: string[] = [];
  /** What reached the serving node. */
  const served: string[] = [];
  const policy: ServerInterceptor = (next) => (input, ctx) => {
    seen.push(`${ctx.caller.id} ${ctx.service}.${ctx.method}`);
    if (ctx.caller.name === "mallory") throw new RpcError("PERMISSION_DENIED", `${ctx.caller.name} may not call ${ctx.service}.${ctx.method}`);
    ctx.meta = { ...ctx.meta, "x-role": ctx.caller.name === "alice" ? "auditor" : "guest" };
    return next(input, ctx);
  };
  let server: Node;
  let edgeNode: Node;
  let edge: Edge;
  const shopSeen = newSeen();
  before(async () => {
    const reached: ServerInterceptor = (next) => (input, ctx) => {
      served.push(`${ctx.service}.${ctx.method}`);
      return next(input, ctx);
    };
    // The end user reaches the serving node only over a connection that proved who it is: here, the cluster key.
    server = await startNode({ name: "shop-server", listen: "tcp://127.0.0.1:0", clusterKey: KEY, logger: recordingLogger(), interceptors: { server: [reached] } });
    server.serve(Shop, shopHandlers(shopSeen));
    edgeNode = await startNode({ name: "edge-node", clusterKey: KEY, logger: recordingLogger(), interceptors: { server: [policy] } });
    edge = await startEdge({
      node: edgeNode,
      connect: [server.addresses[0]!],
      port: 0,
      rateLimit: false,
      authenticate: (token) => (token === "alice" || token === "mallory" ? token : null),
    });
  });
  after(async () => {
    await edge.close();
    await edgeNode.close({ timeout: 500 });
    await server.close({ timeout: 500 });
  });

  it("an end user is the caller the interceptor sees, and what it adds reaches the handler", async () => {
    const answer = await rpc(edge.url, "shop.whoami", {}, { authorization: "Bearer alice" });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, { caller: "alice", role: "auditor" });
    assert.ok(seen.includes("edge:alice shop.whoami"), seen.join("; "));
    assert.ok(served.includes("shop.whoami"));
  });

  it("a refusal by the interceptor is the end user's answer (403 over HTTP, the code over JSON-RPC), and no service is reached", async () => {
    served.length = 0;
    const answer = await rpc(edge.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer mallory" });
    assert.equal(answer.status, 403, answer.text);
    assert.equal(answer.json.error.code, "PERMISSION_DENIED");
    const viaJsonRpc = await jsonrpc(edge.url, { jsonrpc: "2.0", id: 1, method: "shop.whoami", params: {} }, { authorization: "Bearer mallory" });
    assert.match(JSON.stringify(viaJsonRpc.json), /PERMISSION_DENIED/);
    assert.deepEqual(served, [], "nothing reached the serving node");
    assert.ok(seen.includes("edge:mallory shop.add"));
  });

  it("streams pass the chain too", async () => {
    const answer = await rpc(edge.url, "shop.count", { to: 3 }, { authorization: "Bearer mallory", accept: "text/event-stream" });
    assert.match(answer.text, /PERMISSION_DENIED/);
    assert.ok(seen.includes("edge:mallory shop.count"));
    assert.ok(!served.includes("shop.count"));
  });
});

describe("edge: authorization decides end users' calls before they leave", () => {
  let server: Node;
  let edge: Edge;
  const served: string[] = [];
  before(async () => {
    const reached: ServerInterceptor = (next) => (input, ctx) => {
      served.push(`${ctx.service}.${ctx.method}`);
      return next(input, ctx);
    };
    server = await startNode({ name: "shop-guarded", listen: "tcp://127.0.0.1:0", logger: recordingLogger(), interceptors: { server: [reached] } });
    server.serve(Shop, shopHandlers(newSeen()));
    edge = await startEdge({
      connect: [server.addresses[0]!],
      port: 0,
      rateLimit: false,
      logger: recordingLogger(),
      authenticate: (token) => token,
      authorization: {
        rules: [
          { callers: ["edge:admin-*"], methods: ["shop.*"] },
          { callers: ["edge:*"], methods: ["shop.whoami"] },
        ],
      },
    });
  });
  after(async () => {
    await edge.close();
    await server.close({ timeout: 500 });
  });

  it("the first rule that matches the edge:<user> principal decides; what no rule allows is 403 and reaches no service", async () => {
    assert.equal((await rpc(edge.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer admin-ann" })).json, 3);
    assert.equal((await rpc(edge.url, "shop.whoami", {}, { authorization: "Bearer bob" })).status, 200);
    served.length = 0;
    const refused = await rpc(edge.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer bob" });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error.code, "PERMISSION_DENIED");
    const stream = await rpc(edge.url, "shop.count", { to: 3 }, { authorization: "Bearer bob", accept: "text/event-stream" });
    assert.match(stream.text, /PERMISSION_DENIED/);
    assert.deepEqual(served, [], "nothing reached the serving node");
  });

  it("an edge given a node of its own applies that node's policy to end users", async () => {
    const guarded = await startNode({ name: "edge-own-node", logger: recordingLogger(), authorization: { rules: [{ callers: ["edge:admin-*"], methods: ["shop.*"] }] } });
    const own = await startEdge({ node: guarded, connect: [server.addresses[0]!], port: 0, rateLimit: false, authenticate: (token) => token });
    try {
      assert.equal((await rpc(own.url, "shop.add", { a: 2, b: 2 }, { authorization: "Bearer admin-ann" })).json, 4);
      served.length = 0;
      const refused = await rpc(own.url, "shop.add", { a: 1, b: 2 }, { authorization: "Bearer bob" });
      assert.equal(refused.status, 403, refused.text);
      assert.deepEqual(served, [], "nothing reached the serving node");
    } finally {
      await own.close();
      await guarded.close({ timeout: 0 });
    }
  });

  it("a malformed policy is refused when the edge starts", async () => {
    await assert.rejects(startEdge({ port: 0, lookup: false, logger: recordingLogger(), authorization: { rules: [{ callers: [], methods: ["*"] }] } }), /rules\[0\] needs callers and methods/);
  });
});
