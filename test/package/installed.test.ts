/**
 * The package as a user gets it: `npm pack`, then `npm install` of the
 * tarball into a fresh project in a temporary folder (from the registry,
 * preferring npm's cache), and there: the `amoeba` command from dist/, a
 * plain .js module and a .ts one served and called, the edge's browser client,
 * `tsc` over a typed use of the published types with `skipLibCheck: false`,
 * and a browser bundle of a contract shared with the services.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pinned, ROOT, run, Running, tempDir, writeFiles, type Ran } from "./project.ts";

const MINUTE = 60_000;

/** A service in plain JavaScript: what `amoeba serve` must run with no TypeScript tooling at all. */
const SERVICES_JS = `
import { z } from "zod";
import { contract, service, unary } from "amoeba";

export const Greeter = contract("greeter", "1.0.0", {
  greet: unary({ input: z.object({ name: z.string() }), output: z.string() }),
}, { public: true });

export const services = [
  service(Greeter, {
    greet: ({ name }, ctx) => {
      ctx.log.info({ name }, "greeting");
      return "hello " + name;
    },
  }),
];
`;

/** One contract file for both sides: the services import it, and so does the page. */
const CONTRACT_TS = `
import { z } from "zod";
import { contract, RpcError, stream, topic, unary } from "amoeba";

const User = z.object({ id: z.string(), name: z.string() });

export const Users = contract("users", "1.0.0", {
  get: unary({ input: z.object({ id: z.string() }), output: User }),
  list: stream({ input: z.object({ limit: z.number() }), output: User }),
}, { public: true });

export const UserJoined = topic("users.joined", User);

export function noSuchUser(id: string): RpcError {
  return new RpcError("NOT_FOUND", "no user " + id);
}
`;

const SERVICES_TS = `
import { service } from "amoeba";
import { noSuchUser, Users } from "./contract.ts";

const names: Record<string, string> = { "1": "Ada" };

export const services = [
  service(Users, {
    get: ({ id }) => {
      const name = names[id];
      if (name === undefined) throw noSuchUser(id);
      return { id, name };
    },
    async *list({ limit }) {
      for (const [id, name] of Object.entries(names).slice(0, limit)) yield { id, name };
    },
  }),
];
`;

/** An entity type in plain JavaScript on the default directory store, called by key twice over: the state is kept. */
const ENTITY_JS = `
import { z } from "zod";
import { contract, startNode, unary } from "amoeba";
import { entities, serveEntity } from "amoeba/entity";

const Cart = contract("cart", "1.0.0", {
  add: unary({ input: z.object({ item: z.string() }), output: z.array(z.string()) }),
});

for (const round of [1, 2]) {
  const node = await startNode({ name: "entity-" + round });
  await serveEntity(node, Cart, {
    initial: () => [],
    handlers: { add: ({ item }, cart) => (cart.state = [...cart.state, item]) },
  });
  console.log(JSON.stringify(await entities(node, Cart).for("ada").add({ item: "apple-" + round })));
  await node.close();
}
`;

/** A typed use of the API over every entry point; \`tsc\` must accept it, and refuse the marked lines. */
const USE_TS = `
import { z } from "zod";
import { connect, contract, service, startNode, unary, type CallContext, type ServiceDefinition } from "amoeba";
import { startEdge } from "amoeba/edge";
import { startDashboard } from "amoeba/dashboard";
import { nats } from "amoeba/nats";
import { entities, serveEntity } from "amoeba/entity";
import { Users } from "./contract.ts";

const node = await startNode({ name: "typed", listen: "tcp://127.0.0.1:0", traces: { recent: 10 } });
node.serve(Users, { get: ({ id }) => ({ id, name: "Ada" }), async *list() {} });
const peer = await connect(node.addresses[0]!);
const user: { id: string; name: string } = await peer.client(Users).get({ id: "1" });
// @ts-expect-error the input is checked: id is a string
await peer.client(Users).get({ id: 1 });
const entry: ServiceDefinition<typeof Users> = service(Users, { get: (_input, ctx: CallContext) => ({ id: ctx.node, name: user.name }), async *list() {} });
// @ts-expect-error a handler returning 42 where the output is a User does not compile
service(Users, { get: () => 42, async *list() {} });
const Tally = contract("tally", "1.0.0", { bump: unary({ input: z.object({ by: z.number() }), output: z.number() }) });
await serveEntity(node, Tally, { initial: () => ({ seen: 0 }), handlers: { bump: ({ by }, entity) => (entity.state.seen += by) } });
const seen: number = await entities(node, Tally).for("k").bump({ by: 1 });
// @ts-expect-error an entity handler gets the entity: its state is typed
await serveEntity(node, Tally, { initial: () => ({ seen: 0 }), handlers: { bump: (_input, entity) => entity.state.missing } });
void [entry, startEdge, startDashboard, nats, seen];
await peer.close();
await node.close();
`;

/** A page: the browser client with the shared contract, fully typed. */
const PAGE_TS = `
import { connectEdge } from "amoeba/browser";
import { Users } from "./contract.ts";

const edge = await connectEdge(location.origin);
const user = await edge.client(Users).get({ id: "1" });
document.title = user.name;
// @ts-expect-error the browser client knows the contract's methods
edge.client(Users).remove({ id: "1" });
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    strict: true,
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "es2022",
    lib: ["es2023", "dom"],
    types: ["node"],
    skipLibCheck: false,
    noEmit: true,
    allowImportingTsExtensions: true,
  },
  include: ["*.ts"],
});

describe("the installed package", { timeout: 3 * MINUTE }, () => {
  // Two fresh projects, installed side by side from the same tarball: a bare
  // one (Amoeba and zod only: what runs with no TypeScript tooling) and one
  // with tsx, typescript, esbuild and @types/node added.
  let bare = "";
  let tooled = "";
  let dispose = async (): Promise<void> => {};
  let install: Ran;
  let tools: Ran;
  // The slowest steps, started as soon as they can and awaited by their tests.
  let typecheck: Promise<Ran>;
  let bundle: Promise<Ran>;
  const running: Running[] = [];
  const npx = (project: string, args: readonly string[], ms = MINUTE): Promise<Ran> => run("npx", args, project, ms);
  const start = (project: string, args: readonly string[]): Running => {
    const child = new Running("npx", args, project);
    running.push(child);
    return child;
  };

  before(async () => {
    const dir = await tempDir("amoeba-package-");
    dispose = dir.dispose;
    // `npm pack` runs the `prepare` build first: the tarball holds a fresh dist/.
    const pack = await run("npm", ["pack", "--json", "--pack-destination", dir.path], ROOT, 2 * MINUTE);
    assert.equal(pack.code, 0, pack.stderr);
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as [{ filename: string }];
    const tarball = join(dir.path, packed.filename);
    bare = join(dir.path, "bare");
    tooled = join(dir.path, "tooled");
    const files = {
      "package.json": JSON.stringify({ name: "amoeba-user", private: true, type: "module" }),
      "services.js": SERVICES_JS,
      "contract.ts": CONTRACT_TS,
      "services.ts": SERVICES_TS,
      "use.ts": USE_TS,
      "entity.js": ENTITY_JS,
      "page.ts": PAGE_TS,
      "tsconfig.json": TSCONFIG,
    };
    for (const project of [bare, tooled]) {
      await mkdir(project);
      await writeFiles(project, files);
    }
    const flags = ["--prefer-offline", "--no-audit", "--no-fund"];
    const zod = await pinned("zod");
    const toolPackages = await Promise.all(["tsx", "typescript", "esbuild", "@types/node"].map(pinned));
    [install, tools] = await Promise.all([
      run("npm", ["install", tarball, zod, ...flags], bare, 2 * MINUTE),
      run("npm", ["install", tarball, zod, ...toolPackages, ...flags], tooled, 2 * MINUTE),
    ]);
    typecheck = npx(tooled, ["tsc", "-p", "."], 2 * MINUTE);
    bundle = npx(tooled, ["esbuild", "page.ts", "--bundle", "--platform=browser", "--format=esm", "--outfile=page.js", "--metafile=meta.json", "--log-level=warning"]);
  });

  after(async () => {
    await Promise.all(running.map((child) => child.stop()));
    await Promise.allSettled([typecheck, bundle]);
    await dispose();
  });

  it("installs on this Node with no engine warning, and brings no build tool", () => {
    assert.equal(install.code, 0, install.stderr);
    assert.doesNotMatch(install.stdout + install.stderr, /EBADENGINE/);
    for (const tool of ["esbuild", "tsx", "typescript", "@opentelemetry/api"]) {
      assert.equal(existsSync(join(bare, "node_modules", tool)), false, `${tool} was installed`);
    }
    assert.equal(existsSync(join(bare, "node_modules/amoeba/src")), false, "the package ships its sources");
    assert.equal(existsSync(join(bare, "node_modules/amoeba/dist/browser/amoeba-client.js")), true, "no bundled browser client");
  });

  it("npx amoeba --help and --version run from dist/", async () => {
    const help = await npx(bare, ["amoeba", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: amoeba <command>/);
    const version = await npx(bare, ["amoeba", "--version"]);
    const { version: expected } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.deepEqual([version.code, version.stdout], [0, `${expected}\n`], version.stderr);
  });

  it("serves a plain .js module, npx amoeba call calls it, the handler's ctx.log.info shows, and the edge serves the built browser client", async () => {
    const server = start(bare, ["amoeba", "serve", "services.js", "--listen", "tcp://127.0.0.1:0"]);
    const address = (await server.waitFor(/serving greeter@1\.0\.0 on (\S+)\n/, MINUTE))[1]!;
    const call = await npx(bare, ["amoeba", "call", address, "greeter.greet", '{"name":"Ada"}']);
    assert.deepEqual([call.code, call.stdout], [0, '"hello Ada"\n'], call.stderr);
    const line = (await server.waitFor(/^\{.*"msg":"greeting".*\}$/m, 10_000, "stderr"))[0];
    assert.equal((JSON.parse(line) as { level: string }).level, "info");

    const edge = start(bare, ["amoeba", "edge", "--connect", address, "--port", "0"]);
    const url = (await edge.waitFor(/ on (http:\/\/\S+) /, MINUTE))[1]!;
    const client = await fetch(new URL("/amoeba-client.js", url));
    assert.equal(client.status, 200);
    assert.match(client.headers.get("content-type") ?? "", /javascript/);
    assert.match(await client.text(), /connectEdge/);
    const rpc = await fetch(new URL("/rpc/greeter/greet", url), { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Bo"}' });
    assert.deepEqual([rpc.status, await rpc.json()], [200, "hello Bo"]);
  });

  it("amoeba/entity runs from dist/: an entity type on the default directory store keeps its state across nodes", async () => {
    const ran = await run("node", ["entity.js"], bare, MINUTE);
    assert.deepEqual([ran.code, ran.stdout], [0, '["apple-1"]\n["apple-1","apple-2"]\n'], ran.stderr);
  });

  it("a .ts module without tsx installed is refused with what to do", async () => {
    const result = await npx(bare, ["amoeba", "serve", "services.ts", "--listen", "tcp://127.0.0.1:0"]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /services\.ts is TypeScript, and serving it needs tsx, which is not installed: run `npm install --save-dev tsx`/);
  });

  it("with tsx in the project, serves a .ts module that imports the shared contract, and npx amoeba call calls it", async () => {
    assert.equal(tools.code, 0, tools.stderr);
    const server = start(tooled, ["amoeba", "serve", "services.ts", "--listen", "tcp://127.0.0.1:0"]);
    const address = (await server.waitFor(/serving users@1\.0\.0 on (\S+)\n/, MINUTE))[1]!;
    const call = await npx(tooled, ["amoeba", "call", address, "users.get", '{"id":"1"}']);
    assert.deepEqual([call.code, JSON.parse(call.stdout)], [0, { id: "1", name: "Ada" }], call.stderr);
    const missing = await npx(tooled, ["amoeba", "call", address, "users.get", '{"id":"2"}']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ERROR NOT_FOUND: no user 2/);
  });

  it("tsc accepts a typed use of every entry point with skipLibCheck: false and no optional dependency, and refuses wrong handlers", async () => {
    assert.equal(existsSync(join(tooled, "node_modules/@opentelemetry/api")), false);
    const tsc = await typecheck;
    assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
  });

  it("esbuild bundles the shared contract and the browser client for a page, with nothing of Node", async () => {
    const bundled = await bundle;
    assert.equal(bundled.code, 0, bundled.stderr);
    const inputs = Object.keys((JSON.parse(await readFile(join(tooled, "meta.json"), "utf8")) as { inputs: object }).inputs);
    // "amoeba" resolved to its browser entry, not to the Node one.
    assert.ok(inputs.includes("node_modules/amoeba/dist/shared.js"), inputs.join("\n"));
    assert.ok(!inputs.includes("node_modules/amoeba/dist/index.js"), inputs.join("\n"));
    assert.doesNotMatch(await readFile(join(tooled, "page.js"), "utf8"), /["']node:|require\(/);
  });
});
