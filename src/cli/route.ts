import type { RouteExplanation } from "../route/explain.ts";
import { ROUTE_META } from "../route-rules/rules.ts";
import { RpcError } from "../rpc/rpc-error.ts";
import { flagOption, parseOrHelp, stringOption, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { planLookup, planWait, type LookupPlan, type WaitPlan } from "./lookup-args.ts";
import { joinAsTool } from "./lookup-session.ts";
import { formatTable } from "./table.ts";
import { ROUTE } from "./usage.ts";

/** What `amoeba route explain` was asked. */
export interface RoutePlan {
  readonly service: string;
  readonly method: string;
  readonly version: string | undefined;
  readonly lookup: LookupPlan;
  readonly wait: WaitPlan;
  readonly json: boolean;
  /** Route rules as a call's metadata would carry them. */
  readonly rule: string | undefined;
}

/** `amoeba route explain <service.method>`: prints where a call would go now, and why. Returns the exit code. */
export async function runRoute(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(ROUTE, argv, io);
  if (!args) return EXIT.ok;
  const plan = planRoute(args);
  const { explainRoute, knowsWay } = await import("../route/explain.ts");
  const view = await joinAsTool(plan.lookup, "route", {
    wait: plan.wait.ms,
    fixed: plan.wait.fixed,
    until: (v) => knowsWay(v.node, plan.service, plan.version),
  });
  try {
    const explanation = explainRoute(view.node, plan.service, plan.version, plan.rule === undefined ? undefined : { [ROUTE_META]: plan.rule });
    if (explanation instanceof RpcError) throw new UsageError(`--rule: ${explanation.message.replace(/^.*metadata amoeba-route: /, "")}`, "route");
    io.out(plan.json ? JSON.stringify({ method: `${plan.service}.${plan.method}`, ...explanation }) : formatExplanation(explanation, plan.method));
    return explanation.groups.some((group) => group.candidates.some((each) => each.chosen)) ? EXIT.ok : EXIT.failure;
  } finally {
    await view.close();
  }
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planRoute(args: ParsedArgs): RoutePlan {
  const [action, target, ...extra] = args.positionals;
  if (action !== "explain") throw new UsageError(action === undefined ? "needs an action: explain <service.method>" : `unknown action "${action}"; the one action is explain`, "route");
  if (target === undefined) throw new UsageError("explain needs <service.method>", "route");
  if (extra.length > 0) throw new UsageError(`explain takes one <service.method>, got also ${extra.join(" ")}`, "route");
  const dot = target.lastIndexOf(".");
  if (dot <= 0 || dot === target.length - 1) throw new UsageError(`"${target}" is not <service.method>, as in calculator.add`, "route");
  const lookup = planLookup(args, "route");
  if (lookup === undefined) throw new UsageError("needs a cluster to look in: --cluster <name> or --seeds <udp://host:port>", "route");
  if (lookup.registry !== undefined || lookup.engine !== undefined) throw new CliError("route explain looks through gossip: use --cluster or --seeds", EXIT.usage);
  return {
    service: target.slice(0, dot),
    method: target.slice(dot + 1),
    version: stringOption(args, "version"),
    lookup,
    wait: planWait(args, "route"),
    json: flagOption(args, "json"),
    rule: stringOption(args, "rule"),
  };
}

function formatExplanation(explanation: RouteExplanation, method: string): string {
  const lines = [`${explanation.service}.${method} from node ${explanation.from.node} in cluster ${explanation.from.cluster}:`];
  if (explanation.rule !== undefined) lines.push(`rule: ${explanation.rule}`);
  for (const group of explanation.groups) {
    if (group.versions !== undefined) lines.push(`versions ${group.versions}, weight ${group.weight}:`);
    // The AGGREGATE column only when a candidate is one: the usual table stays as it was.
    const aggregates = group.candidates.some((each) => each.aggregate !== undefined);
    const rows = group.candidates.map((each) => [
      each.chosen ? "*" : " ",
      each.node,
      each.version,
      ...(aggregates ? [each.aggregate ?? "-"] : []),
      each.locality,
      String(each.cost),
      each.path.length > 0 ? each.path.join(" > ") : "-",
      each.suspect ? "suspect" : "alive",
      each.address,
    ]);
    lines.push(...formatTable([" ", "NODE", "VERSION", ...(aggregates ? ["AGGREGATE"] : []), "LOCALITY", "COST", "PATH", "STATE", "ADDRESS"], rows, "  "));
    lines.push(group.reason);
  }
  return lines.join("\n");
}
