import type { Logger } from "../../logger.ts";
import type { Client } from "../../rpc/context.ts";
import { isRpcError } from "../../rpc/rpc-error.ts";
import type { Member, MemberRecord, MembershipEvent } from "../types.ts";
import type { RegistryContract, RegistryHello } from "./contract.ts";
import type { LinkEntry, LinkState } from "./merged-view.ts";

/** What a link needs of the backend that owns it. */
export interface RegistryLinkHost {
  /** This node's record as it is now. */
  self(): MemberRecord;
  /** How long a registry keeps a record without a heartbeat (ms): also how long a young registry's table may lack a live member. */
  readonly ttl: number;
  /** Tells the backend that `id` (or, undefined, every member) may have changed. */
  changed(id?: string): void;
  /** A number that grows with every entry received, over all links. */
  nextSeq(): number;
  readonly logger: Logger;
}

/**
 * This node's link to one registry server: registers and heartbeats, reads
 * the table and follows its watch, and keeps what it last heard when the
 * registry goes away. Absence from the table of a registry younger than the
 * TTL proves nothing (a restarted registry's table fills up as members
 * re-register), so until the registry has been up that long, members missing
 * from it stay as last known; after that, the table is the truth.
 */
export class RegistryLink implements LinkState {
  readonly address: string;
  readonly entries = new Map<string, LinkEntry>();
  up = false;
  readonly #client: Client<typeof RegistryContract>;
  readonly #host: RegistryLinkHost;
  #running = false;
  #abort: AbortController | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  /** Entries carried over from before the registry started, absent from its table so far. */
  readonly #carried = new Set<string>();
  #warned = false;

  constructor(address: string, client: Client<typeof RegistryContract>, host: RegistryLinkHost) {
    this.address = address;
    this.#client = client;
    this.#host = host;
  }

  /** Registers (or refreshes) this node's record; a failure waits for the next heartbeat. */
  async register(): Promise<void> {
    const ttl = this.#host.ttl;
    try {
      await this.#client.register({ record: this.#host.self(), ttl }, { timeout: ttl / 3 });
      this.#warned = false;
    } catch (error) {
      // Once per outage: a registry that is down fails every heartbeat.
      if (!this.#warned) this.#host.logger.warn({ err: error, registry: this.address }, "registration with the registry failed; retrying at the next heartbeat");
      this.#warned = true;
    }
  }

  /** Connects and follows the registry until {@link stop}; resolves once the first attempt to read the table ended. */
  start(): Promise<void> {
    this.#running = true;
    return new Promise((resolve) => void this.#loop(resolve));
  }

  /** Deregisters this node (it left). */
  async deregister(timeoutMs: number): Promise<void> {
    await this.#client.deregister({ id: this.#host.self().id }, { timeout: timeoutMs }).catch(() => {});
  }

  stop(): void {
    this.#running = false;
    this.#abort?.abort();
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
  }

  async #loop(firstRead: () => void): Promise<void> {
    const ttl = this.#host.ttl;
    let backoff = 100;
    while (this.#running) {
      this.#abort = new AbortController();
      try {
        const hello = await this.#hello();
        // Re-register first: a registry that just started learns of us now, not at the next heartbeat.
        await this.register();
        const table = await this.#client.members({}, { timeout: ttl / 3, signal: this.#abort.signal });
        this.#read(table, Math.max(0, ttl - hello.uptimeMs));
        firstRead();
        backoff = 100;
        for await (const event of this.#client.watch({}, { timeout: Infinity, signal: this.#abort.signal })) this.#apply(event);
      } catch (error) {
        if (!this.#running) break;
        // Once per outage, as for heartbeats; the rest is debug.
        if (!this.#warned) this.#host.logger.warn({ err: error, registry: this.address }, "cannot read the registry; reconnecting");
        else this.#host.logger.debug({ err: error, registry: this.address }, "registry link lost; reconnecting");
        this.#warned = true;
      }
      firstRead();
      this.#down();
      if (!this.#running) break;
      await new Promise((resolve) => setTimeout(resolve, backoff).unref());
      backoff = Math.min(backoff * 2, ttl / 3);
    }
  }

  async #hello(): Promise<RegistryHello> {
    try {
      return await this.#client.hello({}, { timeout: this.#host.ttl / 3, signal: this.#abort!.signal });
    } catch (error) {
      // A registry from before `hello`: assume it just started, so that its table proves no absence for a TTL.
      if (isRpcError(error) && error.code === "UNIMPLEMENTED") return { boot: "", uptimeMs: 0 };
      throw error;
    }
  }

  /** A fresh table: what it lists is fresh; what it lacks goes, or stays as last known for `graceMs`. */
  #read(table: Member[], graceMs: number): void {
    const listed = new Set<string>();
    for (const member of table) {
      if (!this.#mine(member)) continue;
      listed.add(member.record.id);
      this.entries.set(member.record.id, { member, fresh: true, seq: this.#host.nextSeq() });
    }
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    this.#carried.clear();
    for (const [id, entry] of this.entries) {
      if (listed.has(id)) continue;
      if (graceMs > 0) {
        entry.fresh = false;
        this.#carried.add(id);
      } else {
        this.entries.delete(id);
      }
    }
    if (this.#carried.size > 0) {
      this.#graceTimer = setTimeout(() => this.#endGrace(), graceMs);
      this.#graceTimer.unref();
    }
    this.up = true;
    this.#host.changed();
  }

  /** The registry has been up a TTL: a member it still lacks stopped heartbeating to it. */
  #endGrace(): void {
    this.#graceTimer = null;
    if (!this.up) return; // Down again: what is carried stays last known until the next table.
    for (const id of this.#carried) {
      const entry = this.entries.get(id);
      if (entry && !entry.fresh) this.entries.delete(id);
    }
    this.#carried.clear();
    this.#host.changed();
  }

  #apply(event: MembershipEvent): void {
    const member = event.member;
    if (!this.#mine(member)) return;
    this.#carried.delete(member.record.id);
    this.entries.set(member.record.id, { member, fresh: true, seq: this.#host.nextSeq() });
    this.#host.changed(member.record.id);
  }

  /** Lost: everything becomes last known. */
  #down(): void {
    const was = this.up;
    this.up = false;
    for (const entry of this.entries.values()) entry.fresh = false;
    if (was) this.#host.changed();
  }

  /** One registry may serve several clusters: this node sees its own only, and not itself. */
  #mine(member: Member): boolean {
    const self = this.#host.self();
    return member.record.id !== self.id && member.record.cluster === self.cluster;
  }
}
