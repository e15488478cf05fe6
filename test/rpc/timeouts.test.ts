// Default timeouts: per call, per client (`client(C, { timeout })`) and per node (`defaultTimeout`).
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, unary, type Client } from "../../src/index.ts";
import { aborted, rejection, within, withTeardown, type Teardown } from "./support.ts";

const Clock = contract("rpc.clock", "1.0.0", {
  deadline: unary({ input: z.object({}), output: z.number().nullable() }),
  hang: unary({ input: z.object({}), output: z.null() }),
});

const handlers = {
  deadline: (_: object, ctx: { deadline: number | undefined }) => ctx.deadline ?? null,
  hang: async (_: object, ctx: { signal: AbortSignal }) => {
    await within(aborted(ctx.signal), 5_000, "the hanging handler is aborted");
    return null;
  },
};

async function server(td: Teardown): Promise<string> {
  const node = await td.node({ name: "clock", listen: "tcp://127.0.0.1:0" });
  node.serve(Clock, handlers);
  return node.addresses[0]!;
}

/** The timeout the server saw, in ms from the call's start (rounded), or null when it saw no deadline. */
async function seenTimeout(client: Client<typeof Clock>, options?: Parameters<Client<typeof Clock>["deadline"]>[1]): Promise<number | null> {
  const start = Date.now();
  const deadline = await client.deadline({}, options);
  return deadline === null ? null : deadline - start;
}

/**
 * The callee's deadline is the caller's plus the time the call took to get
 * there (the remaining time travels, not the absolute time): never earlier,
 * and later by one loopback hop at most — allow for a loaded machine.
 */
function near(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null && actual >= expected - 5 && actual <= expected + 150, `${what}: expected about ${expected} ms, got ${actual}`);
}

test("per client: client(C, { timeout }) sets each call's deadline, and a call's own timeout overrides it", () =>
  withTeardown(async (td) => {
    const address = await server(td);
    const peer = await td.connect(address);
    const quick = peer.client(Clock, { timeout: 150 });
    near(await seenTimeout(quick), 150, "the client's timeout");
    near(await seenTimeout(quick, { timeout: 3_000 }), 3_000, "a call's timeout");
    const explicit = Date.now() + 2_000;
    const deadline = await quick.deadline({}, { deadline: explicit });
    near(deadline === null ? null : deadline - explicit + 2_000, 2_000, "a call's explicit deadline replaces the client's default timeout");

    const start = Date.now();
    const error = await rejection(quick.hang({}));
    const elapsed = Date.now() - start;
    assert.equal(error.code, "DEADLINE_EXCEEDED");
    assert.ok(elapsed >= 140 && elapsed < 2_000, `the client's timeout ended the call after ${elapsed} ms`);

    near(await seenTimeout(peer.client(Clock)), 30_000, "another client of the same peer keeps the node's default");
  }));

test("per node: defaultTimeout applies to every client of the node; a client's timeout overrides it", () =>
  withTeardown(async (td) => {
    const address = await server(td);
    const viaConnect = await td.connect(address, { defaultTimeout: 120 });
    near(await seenTimeout(viaConnect.client(Clock)), 120, "connect({ defaultTimeout })");
    near(await seenTimeout(viaConnect.client(Clock, { timeout: 1_000 })), 1_000, "the client's timeout over the node's");

    const caller = await td.node({ name: "caller", defaultTimeout: 250 });
    await caller.connect(address);
    near(await seenTimeout(caller.client(Clock)), 250, "startNode({ defaultTimeout }) and node.client()");
    const start = Date.now();
    const error = await rejection(caller.client(Clock).hang({}));
    assert.equal(error.code, "DEADLINE_EXCEEDED");
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 240 && elapsed < 2_000, `the node's default ended the call after ${elapsed} ms`);

    const local = await td.node({ name: "local", defaultTimeout: 90 });
    local.serve(Clock, handlers);
    near(await seenTimeout(local.client(Clock)), 90, "in-process calls use the node's default too");
  }));

test("defaults: 30 s when nothing is set; none with defaultTimeout Infinity", () =>
  withTeardown(async (td) => {
    const address = await server(td);
    const plain = await td.connect(address);
    near(await seenTimeout(plain.client(Clock)), 30_000, "the built-in default");
    const unbounded = await td.connect(address, { defaultTimeout: Infinity });
    assert.equal(await seenTimeout(unbounded.client(Clock)), null, "no deadline at all");
    near(await seenTimeout(unbounded.client(Clock), { timeout: 500 }), 500, "a call's timeout still applies");
  }));
