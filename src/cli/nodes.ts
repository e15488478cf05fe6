import type { TlsClientOptions } from "../index.ts";
import type { Member } from "../lookup/types.ts";
import { flagOption, parseOrHelp, type ParsedArgs } from "./args.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { describeWhere, planLookup, planWait, type LookupPlan, type WaitPlan } from "./lookup-args.ts";
import { joinAsTool, TOOL_LABEL } from "./lookup-session.ts";
import { toJson } from "./output.ts";
import { formatTable, plural } from "./table.ts";
import { NODES } from "./usage.ts";
import { planClientTls } from "./tls-args.ts";

/** What `amoeba nodes` was asked to do. */
export interface NodesPlan {
  readonly lookup: LookupPlan;
  readonly wait: WaitPlan;
  readonly all: boolean;
  readonly json: boolean;
  /** TLS towards the registry; undefined for none. */
  readonly tls: TlsClientOptions | undefined;
}

const STATE_ORDER = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;

/** `amoeba nodes`: returns the exit code. */
export async function runNodes(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(NODES, argv, io);
  if (!args) return EXIT.ok;
  const plan = planNodes(args);
  const view = await joinAsTool(plan.lookup, "nodes", { wait: plan.wait.ms, fixed: plan.wait.fixed, tls: plan.tls });
  try {
    const members = view.members({ all: plan.all }).sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.record.name.localeCompare(b.record.name));
    print(io, plan, members);
    return EXIT.ok;
  } finally {
    await view.close();
  }
}

/** Checks the command line; every mistake is a UsageError (exit 2). */
export function planNodes(args: ParsedArgs): NodesPlan {
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "nodes");
  const lookup = planLookup(args, "nodes");
  if (lookup === undefined) {
    throw new UsageError("needs a cluster to look in: --cluster <name>, --seeds <udp://host:port> or --registry <address>", "nodes");
  }
  return { lookup, wait: planWait(args, "nodes"), all: flagOption(args, "all"), json: flagOption(args, "json"), tls: planClientTls(args, "nodes") };
}

/** Amoeba's own services (`amoeba.*`) are not counted: every node serves them. */
function userServices(member: Member): Array<[string, string]> {
  return member.record.services.filter(([name]) => !name.startsWith("amoeba."));
}

function print(io: Io, plan: NodesPlan, members: Member[]): void {
  if (plan.json) {
    io.out(
      toJson(
        {
          cluster: plan.lookup.cluster ?? "default",
          ...(plan.lookup.registry !== undefined ? { registry: plan.lookup.registry } : {}),
          members: members.map((member) => ({
            name: member.record.name,
            id: member.record.id,
            cluster: member.record.cluster,
            state: member.state,
            incarnation: member.incarnation,
            addresses: member.record.addresses,
            gossip: member.record.gossip === "" ? undefined : member.record.gossip,
            services: userServices(member).map(([name, version]) => `${name}@${version}`),
            load: member.record.load,
            labels: member.record.labels,
            ...(member.record.labels[TOOL_LABEL] !== undefined ? { tool: true } : {}),
          })),
        },
        false,
      ),
    );
    return;
  }
  const where = describeWhere(plan.lookup);
  if (members.length === 0) {
    io.out(`No members in ${where} besides this command.`);
    return;
  }
  const gossips = plan.lookup.registry === undefined;
  const rows = members.map((member) => [
    member.record.name,
    member.state,
    String(userServices(member).length),
    String(member.record.load),
    ...(gossips ? [member.record.gossip || "-"] : []),
    member.record.addresses.length > 0 ? member.record.addresses.join(" ") : "-",
  ]);
  const header = ["NODE", "STATE", "SERVICES", "LOAD", ...(gossips ? ["GOSSIP"] : []), "ADDRESSES"];
  for (const line of formatTable(header, rows)) io.out(line);
  const counts = Object.keys(STATE_ORDER)
    .map((state) => [state, members.filter((member) => member.state === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`);
  io.out("");
  io.out(`${plural(members.length, "member")} (${counts.join(", ")}) in ${where}.`);
}
