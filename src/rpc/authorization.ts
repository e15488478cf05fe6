/**
 * Who may call what: an authorization policy as a stage of the server's
 * chain, deny by default once set. A caller is known by its principals —
 * `cert:<common name>` and `san:<alternative name>` from a certificate
 * verified over mutual TLS, `cluster` for a peer that proved the node's
 * cluster key at its handshake, `token:<name>` for a peer that presented a
 * bearer token the node's `tokens` know, `edge:<user>` for an end user the edge
 * authenticated, `self` for the node's own in-process calls, and
 * `node:<name>` for the name a peer gave in its handshake (only as
 * trustworthy as the connection it came on). A rule names principals and
 * `service.method` patterns; the first rule that matches decides.
 */
import type { CallerInfo, ServerInterceptor } from "./context.ts";
import { RpcError } from "./rpc-error.ts";

/** One rule: these callers may (or, with `deny`, may not) call these methods. */
export interface AuthorizationRule {
  /** Principals, e.g. `cert:orders`, `san:DNS:orders.internal`, `cluster`, `token:orders`, `edge:*`, `self`, `*` (anyone, authenticated or not). A trailing `*` matches any rest. */
  callers: readonly string[];
  /** `service.method` patterns, e.g. `calculator.*`, `amoeba.reflect.describe`, `*`. */
  methods: readonly string[];
  /** Refuse instead of allow. */
  deny?: boolean;
}

/** A node's authorization policy (`startNode({ authorization })`). */
export interface AuthorizationPolicy {
  /** Checked in order; the first that matches a call decides. None matches: refused. */
  rules: readonly AuthorizationRule[];
}

/** The principals of a caller, verified ones first. */
export function principalsOf(caller: CallerInfo): string[] {
  const out: string[] = [];
  const cert = caller.certificate;
  if (cert) {
    if (cert.subject !== "") out.push(`cert:${cert.subject}`);
    for (const name of cert.altNames) out.push(`san:${name}`);
  }
  if (caller.provedClusterKey) out.push("cluster");
  if (caller.token !== undefined) out.push(`token:${caller.token}`);
  if (caller.id.startsWith("edge:")) out.push(`edge:${caller.name}`);
  else if (isSelf(caller)) out.push("self");
  out.push(`node:${caller.name}`);
  return out;
}

/** Whether the caller is this node itself, calling in-process. */
export function isSelf(caller: CallerInfo): boolean {
  return caller.address === "inproc://self";
}

/** Whether the caller proved who it is (a verified certificate, the cluster key, a known token, the edge's authentication, this node itself). */
export function isAuthenticated(caller: CallerInfo): boolean {
  return caller.certificate !== undefined || caller.provedClusterKey === true || caller.token !== undefined || caller.id.startsWith("edge:") || isSelf(caller);
}

function matches(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  return pattern.endsWith("*") ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

/** The compiled decision of a policy: null to let the call through, else the refusal. */
export function decide(policy: AuthorizationPolicy, caller: CallerInfo, service: string, method: string, node: string): RpcError | null {
  const target = `${service}.${method}`;
  const principals = principalsOf(caller);
  for (const rule of policy.rules) {
    if (!rule.methods.some((pattern) => matches(pattern, target))) continue;
    if (!rule.callers.some((pattern) => pattern === "*" || principals.some((principal) => matches(pattern, principal)))) continue;
    if (!rule.deny) return null;
    return refusal(caller, target, node, "a rule refuses it");
  }
  return refusal(caller, target, node, "no rule allows it");
}

function refusal(caller: CallerInfo, target: string, node: string, why: string): RpcError {
  const [service, method] = [target.slice(0, target.lastIndexOf(".")), target.slice(target.lastIndexOf(".") + 1)];
  // Who is not known gets UNAUTHENTICATED: prove who you are first. Who is known, PERMISSION_DENIED.
  if (!isAuthenticated(caller)) {
    return new RpcError("UNAUTHENTICATED", `${target} on node ${node}: the caller proved no identity (a client certificate over mutual TLS, the cluster key or a token) and ${why}`, {
      service,
      method,
      node,
      unprocessed: true,
    });
  }
  return new RpcError("PERMISSION_DENIED", `${target} on node ${node}: ${principalsOf(caller)[0]} may not call it; ${why}`, { service, method, node, unprocessed: true });
}

/** Checks a policy's shape; a TypeError names what is wrong. */
export function checkPolicy(policy: unknown): asserts policy is AuthorizationPolicy {
  const rules = (policy as AuthorizationPolicy | null)?.rules;
  if (!Array.isArray(rules)) throw new TypeError("authorization must be { rules: [{ callers: [...], methods: [...] }, …] }");
  rules.forEach((rule: AuthorizationRule, i) => {
    const list = (value: unknown): boolean => Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string" && item !== "");
    if (typeof rule !== "object" || rule === null || !list(rule.callers) || !list(rule.methods)) {
      throw new TypeError(`authorization.rules[${i}] needs callers and methods, each a non-empty list of patterns`);
    }
    if (rule.deny !== undefined && typeof rule.deny !== "boolean") throw new TypeError(`authorization.rules[${i}].deny must be true or false`);
  });
}

/** The authorization stage: refuses, before any interceptor of the user's, every call the policy does not allow. */
export function authorizationStage(policy: AuthorizationPolicy): ServerInterceptor {
  return (next) => (input, ctx) => {
    const refused = decide(policy, ctx.caller, ctx.service, ctx.method, ctx.node);
    if (refused) throw refused;
    return next(input, ctx);
  };
}
