// Version matching: a client of calc@1.2.0 accepts ^1.2.0 — a 1.3.0 server, not 1.1.0 nor 2.0.0 —
// and when it finds no match, the error names what does exist.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { contract, unary, type Node } from "../../src/index.ts";
import { rejection, withTeardown, type Teardown } from "./support.ts";

const methods = { whoami: unary({ input: z.object({}), output: z.string() }) };
const calcAt = (version: string) => contract("calc", version, methods);
const Calc120 = calcAt("1.2.0");

async function serving(td: Teardown, version: string): Promise<Node> {
  const node = await td.node({ name: `calc-${version}`, listen: "tcp://127.0.0.1:0" });
  node.serve(calcAt(version), { whoami: () => `calc@${version}` });
  return node;
}

test("a direct client of 1.2.0 reaches a 1.3.0 server, but not 1.1.0 or 2.0.0: NOT_FOUND naming what is served", () =>
  withTeardown(async (td) => {
    const [v130, v110, v200] = [await serving(td, "1.3.0"), await serving(td, "1.1.0"), await serving(td, "2.0.0")];
    const to130 = await td.connect(v130.addresses[0]!);
    assert.equal(await to130.client(Calc120).whoami({}), "calc@1.3.0");

    for (const [server, version] of [[v110, "1.1.0"], [v200, "2.0.0"]] as const) {
      const peer = await td.connect(server.addresses[0]!);
      const error = await rejection(peer.client(Calc120).whoami({}));
      assert.equal(error.code, "NOT_FOUND", `against ${version}`);
      assert.equal(error.unprocessed, true);
      assert.ok(error.message.includes(`calc@${version}`), `the message names calc@${version}: ${error.message}`);
      assert.ok(error.message.includes("1.2.0"), `the message names the range asked for: ${error.message}`);
      assert.equal(await peer.client(calcAt(version)).whoami({}), `calc@${version}`, "a client of that version is served");
    }
    const to200 = await td.connect(v200.addresses[0]!);
    assert.equal(await to200.client(Calc120, { version: "2" }).whoami({}), "calc@2.0.0", "an explicit range in the client's options");
  }));

test("a node serving several versions answers each client with the version it accepts", () =>
  withTeardown(async (td) => {
    const server = await td.node({ name: "multi", listen: "tcp://127.0.0.1:0" });
    for (const version of ["1.1.0", "1.3.0", "2.0.0"]) server.serve(calcAt(version), { whoami: () => `calc@${version}` });
    const peer = await td.connect(server.addresses[0]!);
    assert.equal(await peer.client(Calc120).whoami({}), "calc@1.3.0");
    assert.equal(await peer.client(calcAt("1.0.0")).whoami({}), "calc@1.3.0", "the newest compatible version");
    assert.equal(await peer.client(calcAt("2.0.0")).whoami({}), "calc@2.0.0");
    const error = await rejection(peer.client(calcAt("3.0.0")).whoami({}));
    assert.equal(error.code, "NOT_FOUND");
    for (const version of ["1.1.0", "1.3.0", "2.0.0"]) assert.ok(error.message.includes(`calc@${version}`), `names calc@${version}: ${error.message}`);
  }));

test("of several compatible versions served, the newest answers, whatever the order they were served in", () =>
  withTeardown(async (td) => {
    const server = await td.node({ name: "multi", listen: "tcp://127.0.0.1:0" });
    for (const version of ["1.4.0", "1.2.5", "1.3.0"]) server.serve(calcAt(version), { whoami: () => `calc@${version}` });
    const peer = await td.connect(server.addresses[0]!);
    assert.equal(await peer.client(Calc120).whoami({}), "calc@1.4.0");
    const local = await td.node({ name: "solo" });
    for (const version of ["1.4.0", "1.2.5"]) local.serve(calcAt(version), { whoami: () => `calc@${version}` });
    assert.equal(await local.client(Calc120).whoami({}), "calc@1.4.0", "in-process too");
  }));

test("placed by look-up, a client of 1.2.0 skips connected nodes serving 1.1.0 and 2.0.0 and uses 1.3.0", () =>
  withTeardown(async (td) => {
    const [v110, v200, v130] = [await serving(td, "1.1.0"), await serving(td, "2.0.0"), await serving(td, "1.3.0")];
    const caller = await td.node({ name: "caller" });
    await caller.connect(v110.addresses[0]!);
    await caller.connect(v200.addresses[0]!);
    await caller.connect(v130.addresses[0]!);
    const calc = caller.client(Calc120);
    for (let i = 0; i < 6; i++) assert.equal(await calc.whoami({}), "calc@1.3.0", `call ${i} goes to the compatible node`);
  }));

test("placed by look-up with no compatible instance: UNAVAILABLE/NOT_FOUND, unprocessed, naming the versions that exist", () =>
  withTeardown(async (td) => {
    const [v110, v200] = [await serving(td, "1.1.0"), await serving(td, "2.0.0")];
    const caller = await td.node({ name: "caller" });
    await caller.connect(v110.addresses[0]!);
    await caller.connect(v200.addresses[0]!);
    const error = await rejection(caller.client(Calc120).whoami({}));
    assert.ok(error.code === "UNAVAILABLE" || error.code === "NOT_FOUND", `code ${error.code}`);
    assert.equal(error.unprocessed, true);
    assert.ok(error.message.includes("1.2.0"), `the message names the range asked for: ${error.message}`);
    for (const version of ["1.1.0", "2.0.0"]) {
      assert.ok(error.message.includes(version), `the message names calc@${version}, which connected nodes serve: ${error.message}`);
    }
  }));

test("in-process with an incompatible local version: the error names the version served here", () =>
  withTeardown(async (td) => {
    const node = await td.node({ name: "solo" });
    node.serve(calcAt("1.1.0"), { whoami: () => "calc@1.1.0" });
    const error = await rejection(node.client(Calc120).whoami({}));
    assert.ok(error.code === "UNAVAILABLE" || error.code === "NOT_FOUND", `code ${error.code}`);
    assert.equal(error.unprocessed, true);
    assert.ok(error.message.includes("1.1.0"), `the message names calc@1.1.0, served by this very node: ${error.message}`);
    assert.equal(await node.client(calcAt("1.1.0")).whoami({}), "calc@1.1.0");
  }));

test("a contract with a pre-release or build tag is called in-process and directly, and its tag orders as the plain version", () =>
  withTeardown(async (td) => {
    const Beta = calcAt("1.3.0-beta.2");
    const server = await td.node({ name: "calc-beta", listen: "tcp://127.0.0.1:0" });
    server.serve(Beta, { whoami: () => "calc@1.3.0-beta.2" });
    assert.equal(await server.client(Beta).whoami({}), "calc@1.3.0-beta.2", "in-process");
    const peer = await td.connect(server.addresses[0]!);
    assert.equal(await peer.client(Beta).whoami({}), "calc@1.3.0-beta.2", "over TCP");
    assert.equal(await peer.client(Calc120).whoami({}), "calc@1.3.0-beta.2", "^1.2.0 takes 1.3.0-beta.2 as 1.3.0");
    assert.equal(await peer.client(calcAt("1.3.0+build.7")).whoami({}), "calc@1.3.0-beta.2", "a build tag in the client's version");
    const error = await rejection(peer.client(calcAt("1.4.0-rc.1")).whoami({}));
    assert.equal(error.code, "NOT_FOUND", "^1.4.0-rc.1 is ^1.4.0: not 1.3.0-beta.2");
  }));
