/**
 * `--policy <file>`: an authorization policy written as JSON,
 *
 *   { "rules": [ { "callers": ["cert:orders"], "methods": ["payments.*"] },
 *                { "callers": ["cert:ops-*"], "methods": ["amoeba.*"], "deny": false } ] }
 *
 * checked whole before the node starts: a mistake names the rule and the
 * field (`rules[1].methods[0]`), and fields the policy does not have are
 * refused rather than ignored, since a misspelt `"deny"` would allow what it
 * was meant to refuse.
 */
import { readFileSync } from "node:fs";
import type { AuthorizationPolicy, AuthorizationRule } from "../index.ts";
import { UsageError } from "./errors.ts";
import { didYouMean } from "./suggest.ts";

const RULE_FIELDS = ["callers", "methods", "deny"] as const;
const PRINCIPAL_KINDS = ["cert:", "san:", "token:", "edge:", "node:"] as const;
const EXAMPLE = '{ "rules": [ { "callers": ["cert:orders"], "methods": ["payments.*"] } ] }';

/** Reads and checks the policy file of `--policy`; every mistake is a UsageError (exit 2) naming the file. */
export function readPolicy(file: string, command: string): AuthorizationPolicy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read --policy ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, command);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--policy ${file} is not valid JSON${where(text, (error as Error).message)}: ${(error as Error).message}`, command);
  }
  try {
    return checkPolicyJson(json);
  } catch (error) {
    throw new UsageError(`--policy ${file}: ${(error as Error).message}`, command);
  }
}

/**
 * Checks a parsed policy file: an object with only `rules`, a non-empty list
 * of rules, each with `callers` (principals), `methods` (`service.method`
 * patterns) and optionally `deny`, and nothing else. Returns the policy;
 * throws an Error whose message names the rule and field at fault.
 */
export function checkPolicyJson(json: unknown): AuthorizationPolicy {
  if (!isObject(json)) throw new Error(`the policy must be a JSON object, as in ${EXAMPLE}`);
  for (const field of Object.keys(json)) {
    if (field !== "rules") throw new Error(`unknown field "${field}"${didYouMean(field, ["rules"])}; a policy has only "rules"`);
  }
  const rules = json.rules;
  if (rules === undefined) throw new Error(`"rules" is missing, as in ${EXAMPLE}`);
  if (!Array.isArray(rules)) throw new Error(`"rules" must be a list of rules, not ${shown(rules)}, as in ${EXAMPLE}`);
  if (rules.length === 0) throw new Error('"rules" is empty: every call would be refused; add a rule');
  return { rules: rules.map((rule, i) => checkRule(rule, `rules[${i}]`)) };
}

function checkRule(rule: unknown, at: string): AuthorizationRule {
  if (!isObject(rule)) throw new Error(`${at} must be an object such as { "callers": ["cert:orders"], "methods": ["payments.*"] }, not ${shown(rule)}`);
  for (const field of Object.keys(rule)) {
    if (!(RULE_FIELDS as readonly string[]).includes(field)) {
      throw new Error(`${at}: unknown field "${field}"${didYouMean(field, RULE_FIELDS)}; a rule has "callers", "methods" and "deny"`);
    }
  }
  const callers = patterns(rule.callers, `${at}.callers`, "principals", '["cert:orders"]');
  callers.forEach((caller, i) => checkPrincipal(caller, `${at}.callers[${i}]`));
  const methods = patterns(rule.methods, `${at}.methods`, "service.method patterns", '["payments.*"]');
  methods.forEach((method, i) => checkMethod(method, `${at}.methods[${i}]`));
  if (rule.deny !== undefined && typeof rule.deny !== "boolean") throw new Error(`${at}.deny must be true or false, not ${shown(rule.deny)}`);
  return { callers, methods, ...(rule.deny === true ? { deny: true } : {}) };
}

/** A non-empty list of non-empty strings without spaces, in which a `*` stands only at the end. */
function patterns(value: unknown, at: string, what: string, example: string): string[] {
  if (value === undefined) throw new Error(`${at} is missing: the ${what} of the rule, as in ${example}`);
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${at} must be a non-empty list of ${what}, as in ${example}; not ${shown(value)}`);
  return value.map((item, i) => {
    if (typeof item !== "string" || item === "") throw new Error(`${at}[${i}] must be a non-empty string, not ${shown(item)}`);
    if (/\s/.test(item)) throw new Error(`${at}[${i}]: ${shown(item)} holds a space`);
    if (item.slice(0, -1).includes("*")) throw new Error(`${at}[${i}]: ${shown(item)}: a * matches any rest, so it stands only at the end`);
    return item;
  });
}

function checkPrincipal(caller: string, at: string): void {
  if (caller === "*" || caller === "self" || caller === "cluster" || PRINCIPAL_KINDS.some((kind) => caller.startsWith(kind) && caller.length > kind.length)) return;
  throw new Error(`${at}: ${shown(caller)} is no principal; write cert:<common name>, san:<alternative name>, cluster, token:<name>, edge:<user>, node:<name>, self or * (anyone)`);
}

function checkMethod(method: string, at: string): void {
  if (method.endsWith("*")) return;
  const dot = method.lastIndexOf(".");
  if (dot <= 0 || dot === method.length - 1) {
    throw new Error(`${at}: ${shown(method)} names no method; write "${method.replace(/\.$/, "")}.*" for all its methods, or "${method.replace(/\.$/, "")}.<method>"`);
  }
}

/** ` (line 3, column 7)` for a JSON.parse message that gives a position; "" otherwise. */
function where(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message);
  if (position === null) return "";
  const before = text.slice(0, Number(position[1])).split("\n");
  return ` (line ${before.length}, column ${before[before.length - 1]!.length + 1})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as the file wrote it, short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
