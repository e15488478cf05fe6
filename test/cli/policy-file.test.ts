// `--policy <file>`: a JSON policy is checked whole before anything starts; a mistake names the rule and
// the field, fields a policy does not have are refused, and every command that takes one exits 2 on it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkPolicyJson } from "../../src/cli/policy-file.ts";
import { CONCURRENCY, runCli } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "amoeba-cli-policy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("a policy file's checks", () => {
  it("takes rules of principals and service.method patterns, deny included", () => {
    const policy = {
      rules: [
        { callers: ["cert:orders", "san:DNS:orders.internal"], methods: ["payments.refund"], deny: true },
        { callers: ["cert:ops-*", "edge:*", "node:gw-1", "self"], methods: ["amoeba.*", "payments.*"] },
        { callers: ["*"], methods: ["*"], deny: false },
      ],
    };
    assert.deepEqual(checkPolicyJson(policy), {
      rules: [
        { callers: ["cert:orders", "san:DNS:orders.internal"], methods: ["payments.refund"], deny: true },
        { callers: ["cert:ops-*", "edge:*", "node:gw-1", "self"], methods: ["amoeba.*", "payments.*"] },
        { callers: ["*"], methods: ["*"] },
      ],
    });
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ["not an object", [], /^the policy must be a JSON object/],
    ["an unknown top-level field", { rules: [], comment: "x" }, /^unknown field "comment"; a policy has only "rules"$/],
    ["a misspelt rules", { rule: [] }, /^unknown field "rule"; did you mean "rules"\?/],
    ["no rules", {}, /^"rules" is missing/],
    ["rules that are no list", { rules: { callers: ["*"] } }, /^"rules" must be a list of rules, not \{"callers":\["\*"\]\}/],
    ["an empty list of rules", { rules: [] }, /^"rules" is empty: every call would be refused/],
    ["a rule that is no object", { rules: ["cert:x"] }, /^rules\[0\] must be an object/],
    ["an unknown field of a rule", { rules: [{ callers: ["*"], methods: ["*"] }, { callers: ["*"], method: ["a.b"] }] }, /^rules\[1\]: unknown field "method"; did you mean "methods"\?; a rule has "callers", "methods" and "deny"$/],
    ["a misspelt deny", { rules: [{ callers: ["*"], methods: ["*"], dney: true }] }, /^rules\[0\]: unknown field "dney"; did you mean "deny"\?/],
    ["no callers", { rules: [{ methods: ["a.b"] }] }, /^rules\[0\]\.callers is missing/],
    ["empty callers", { rules: [{ callers: [], methods: ["a.b"] }] }, /^rules\[0\]\.callers must be a non-empty list of principals/],
    ["a caller that is no string", { rules: [{ callers: ["cert:a", 7], methods: ["a.b"] }] }, /^rules\[0\]\.callers\[1\] must be a non-empty string, not 7$/],
    ["a caller with no kind", { rules: [{ callers: ["orders"], methods: ["a.b"] }] }, /^rules\[0\]\.callers\[0\]: "orders" is no principal; write cert:<common name>/],
    ["a kind with no name", { rules: [{ callers: ["cert:"], methods: ["a.b"] }] }, /^rules\[0\]\.callers\[0\]: "cert:" is no principal/],
    ["a * in the middle", { rules: [{ callers: ["*"], methods: ["calc*.add"] }] }, /^rules\[0\]\.methods\[0\]: "calc\*\.add": a \* matches any rest, so it stands only at the end$/],
    ["a space", { rules: [{ callers: ["cert: orders"], methods: ["a.b"] }] }, /^rules\[0\]\.callers\[0\]: "cert: orders" holds a space$/],
    ["a service without a method", { rules: [{ callers: ["*"], methods: ["calculator"] }] }, /^rules\[0\]\.methods\[0\]: "calculator" names no method; write "calculator\.\*" for all its methods, or "calculator\.<method>"$/],
    ["a deny that is no boolean", { rules: [{ callers: ["*"], methods: ["*"], deny: "yes" }] }, /^rules\[0\]\.deny must be true or false, not "yes"$/],
  ];
  for (const [name, json, message] of refused) {
    it(`refuses ${name}`, () => assert.throws(() => checkPolicyJson(json), { message }));
  }
});

describe("--policy on the command line", { concurrency: CONCURRENCY, timeout: 120_000 }, () => {
  const misspelt = file("misspelt.json", JSON.stringify({ rules: [{ callers: ["cert:orders"], methods: ["payments.*"] }, { callers: ["cert:ops"], methods: ["amoeba.*"], denny: true }] }));
  const broken = file("broken.json", '{ "rules": [\n  { "callers": ["*"], "methods": ["*"], }\n] }\n');
  const cases: Array<[string, string[], RegExp]> = [
    ["serve", ["serve", "examples/calculator/service.ts", "--policy", misspelt], /^amoeba serve: --policy \S+misspelt\.json: rules\[1\]: unknown field "denny"; did you mean "deny"\?/],
    ["registry", ["registry", "--policy", broken], /^amoeba registry: --policy \S+broken\.json is not valid JSON \(line 2, column 41\): /],
    ["gateway", ["gateway", "--join", "a", "--join", "b", "--policy", join(dir, "absent.json")], /^amoeba gateway: cannot read --policy \S+absent\.json: no such file\n/],
    ["edge", ["edge", "--connect", "tcp://127.0.0.1:1", "--policy", misspelt], /^amoeba edge: --policy \S+misspelt\.json: rules\[1\]: unknown field "denny"/],
  ];
  for (const [command, args, message] of cases) {
    it(`${command} refuses a bad policy file: exit 2, naming the file, the rule and the field`, async (t) => {
      const result = await runCli(args, t.after.bind(t));
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.match(result.stderr, new RegExp(`Run 'amoeba ${command} --help' for usage\\.`));
    });
  }
});
