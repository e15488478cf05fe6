/**
 * Reads one cluster through one of its members: who is in it, what each
 * member's balancers see (`amoeba.stats`) and what each serves
 * (`amoeba.reflect`). Connections to the members are kept between readings.
 */
import { hostname } from "node:os";
import { StatsContract, type NodeStats } from "../balance/stats-contract.ts";
import { TOOL_LABEL } from "../cli/lookup-session.ts";
import { reachableAddress } from "../lookup/reachable.ts";
import type { Member } from "../lookup/types.ts";
import type { Node } from "../node/index.ts";
import { nodeInternals } from "../node/node.ts";
import type { Peer } from "../node/peer.ts";
import { describeServices, ReflectionContract, type ServiceDescription } from "../rpc/reflection.ts";

/** One cluster at one moment. */
export interface ClusterReading {
  readonly cluster: string;
  /** Members other than the short-lived ones of the `amoeba` command, in name order. */
  readonly members: Member[];
  /** The stats of each member that answered, by member id. */
  readonly stats: Map<string, NodeStats>;
  /** What each member that answered serves, by member id, Amoeba's own services included. */
  readonly descriptions: Map<string, ServiceDescription[]>;
}

/** A cluster as the dashboard watches it: through `node`, a member of it. */
export class ClusterReader {
  readonly node: Node;
  /** Whether `node` is an edge, drawn with end users' clients in front of it. */
  readonly edge: boolean;
  /** Whether `node` is left out of the picture: it is only there to watch. */
  readonly hidden: boolean;
  readonly #timeout: number;
  readonly #host = hostname();
  /** Descriptions by member id, kept while the services its record lists stay the same. */
  readonly #described = new Map<string, { signature: string; services: ServiceDescription[] }>();

  /** `timeout`: how long one member may take to answer (ms). */
  constructor(node: Node, role: { edge: boolean; hidden: boolean }, timeout: number) {
    this.node = node;
    this.edge = role.edge;
    this.hidden = role.hidden;
    this.#timeout = timeout;
  }

  get cluster(): string {
    return this.node.cluster;
  }

  /** Asks every live member for its stats, and new members for their services, in parallel. */
  async read(): Promise<ClusterReading> {
    const members = this.node
      .members()
      .filter((member) => member.record.labels[TOOL_LABEL] === undefined)
      .sort((a, b) => a.record.name.localeCompare(b.record.name) || a.record.id.localeCompare(b.record.id));
    const stats = new Map<string, NodeStats>();
    const descriptions = new Map<string, ServiceDescription[]>();
    const live = new Set<string>();
    await Promise.all(
      members.map(async (member) => {
        const id = member.record.id;
        if (member.state !== "alive" && member.state !== "suspect") return;
        live.add(id);
        try {
          if (id === this.node.id) {
            stats.set(id, this.node.stats());
            descriptions.set(id, describeServices(nodeInternals(this.node).registry));
            return;
          }
          const peer = await this.peer(member);
          if (peer === undefined) return;
          const [answered, described] = await Promise.all([peer.client(StatsContract).get({}, { timeout: this.#timeout }), this.#describe(peer, member)]);
          stats.set(id, answered);
          descriptions.set(id, described);
        } catch {
          // A member that cannot answer is still drawn, without figures.
        }
      }),
    );
    for (const id of this.#described.keys()) if (!live.has(id)) this.#described.delete(id);
    return { cluster: this.cluster, members, stats, descriptions };
  }

  /** A connection to `member` (kept and reused by the node), or undefined when it lists no address. */
  async peer(member: Member): Promise<Peer | undefined> {
    const address = reachableAddress(member.record, this.#host);
    if (address === undefined) return undefined;
    return this.node.connect(address, { connectTimeout: this.#timeout });
  }

  async #describe(peer: Peer, member: Member): Promise<ServiceDescription[]> {
    const signature = member.record.services.map(([name, version]) => `${name}@${version}`).join(",");
    const known = this.#described.get(member.record.id);
    if (known?.signature === signature) return known.services;
    const services = await peer.client(ReflectionContract).describe({}, { timeout: this.#timeout });
    this.#described.set(member.record.id, { signature, services });
    return services;
  }
}
