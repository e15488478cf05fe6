import { satisfies } from "../rpc/version.ts";
import type { LookupBackend } from "./backend.ts";
import type { Instance, LookupChange, LookupOptions, Member } from "./types.ts";
import { ChangeQueue } from "./change-queue.ts";

/**
 * The service catalog: which live instances serve what, built from the
 * members a look-up backend reports. Suspect members stay listed (with their
 * state) until they are declared dead, as in SWIM: suspicion is not death.
 */
export class Catalog {
  readonly #backend: LookupBackend;

  constructor(backend: LookupBackend) {
    this.#backend = backend;
  }

  /** The live instances of `service` that match `options`. */
  lookup(service: string, options: LookupOptions = {}): Instance[] {
    const out: Instance[] = [];
    for (const member of this.#backend.members()) collect(member, service, options, out);
    return out;
  }

  /** `name@version on node n, …` of every live instance of `service`, for error messages. */
  describe(service: string): string {
    return this.lookup(service)
      .map((instance) => `${instance.service}@${instance.version} on node ${instance.node.name}`)
      .join(", ");
  }

  /**
   * The changes to the instances of `service` matching `options`: first an
   * "added" for each current one, then changes as they happen, until the
   * signal aborts or the iteration stops.
   */
  watch(service: string, options: LookupOptions = {}, signal?: AbortSignal): AsyncIterable<LookupChange> {
    const backend = this.#backend;
    return {
      [Symbol.asyncIterator]: () => {
        const known = new Map<string, Instance>();
        const queue = new ChangeQueue<LookupChange>();
        const refresh = (): void => {
          const current = new Map<string, Instance>();
          for (const instance of this.lookup(service, options)) current.set(keyOf(instance), instance);
          for (const [key, instance] of current) {
            const before = known.get(key);
            if (!before) queue.push({ type: "added", instance });
            else if (changed(before, instance)) queue.push({ type: "updated", instance });
          }
          for (const [key, instance] of known) if (!current.has(key)) queue.push({ type: "removed", instance });
          known.clear();
          for (const [key, instance] of current) known.set(key, instance);
        };
        refresh();
        const stop = backend.on(refresh);
        const end = (): void => {
          stop();
          queue.end();
        };
        signal?.addEventListener("abort", end, { once: true });
        queue.onReturn(() => {
          stop();
          signal?.removeEventListener("abort", end);
        });
        return queue;
      },
    };
  }
}

/** The instances a live member serves (none when it is dead or gone). */
export function memberInstances(member: Member): Instance[] {
  if (member.state !== "alive" && member.state !== "suspect") return [];
  return member.record.services.map(([service, version]) => instanceOf(member, service, version));
}

function instanceOf(member: Member, service: string, version: string): Instance {
  const record = member.record;
  return {
    service,
    version,
    node: { id: record.id, name: record.name, cluster: record.cluster },
    addresses: record.addresses,
    labels: record.labels,
    load: record.load,
    state: member.state,
  };
}

function collect(member: Member, service: string, options: LookupOptions, out: Instance[]): void {
  if (member.state !== "alive" && member.state !== "suspect") return;
  if (options.labels) {
    for (const [key, value] of Object.entries(options.labels)) if (member.record.labels[key] !== value) return;
  }
  // Only the instances asked for are made: a member may serve a thousand services.
  for (const [name, version] of member.record.services) {
    if (name !== service || (options.version !== undefined && !satisfies(version, options.version))) continue;
    out.push(instanceOf(member, name, version));
  }
}

function keyOf(instance: Instance): string {
  return `${instance.node.id}\u0000${instance.version}`;
}

function changed(a: Instance, b: Instance): boolean {
  return a.state !== b.state || a.load !== b.load || a.addresses.join() !== b.addresses.join() || JSON.stringify(a.labels) !== JSON.stringify(b.labels);
}
