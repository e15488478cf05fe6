/**
 * Look-up over NATS: who serves what, learned from NATS itself.
 *
 * - Announcements on `<prefix>.lookup`: a node publishes its record when it
 *   joins (asking the others to announce themselves at once, so a newcomer
 *   has the view within a round trip), when its record changes, every
 *   `heartbeat`, and when it leaves.
 * - The micro protocol: the node answers `$SRV.PING/INFO/STATS` for what it
 *   serves, and sweeps `$SRV.INFO` when it joins and every `sweep`, which
 *   finds members whose announcements were lost.
 * - A member not heard from for `ttl` is declared dead; a leave is `left`.
 */
import { createInbox, Empty, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "../logger.ts";
import type { LookupBackend } from "../lookup/backend.ts";
import type { Member, MemberRecord, MembershipEvent, MemberState } from "../lookup/types.ts";
import type { MicroResponder } from "./micro.ts";
import { META, type MicroInfo } from "./micro-protocol.ts";

/** Timing of look-up over NATS. */
export interface NatsLookupOptions {
  /** How often a node announces itself, ms. Default 2000. */
  heartbeat?: number;
  /** A member not heard from for this long is dead, ms. Default 3 × heartbeat. */
  ttl?: number;
  /** How often to sweep `$SRV.INFO` for members whose announcements were lost, ms. Default 15 000. */
  sweep?: number;
  /** How long joining waits for answers to its first `$SRV.INFO` sweep once they stop coming, ms. Default 150. */
  joinSettle?: number;
}

interface Announcement {
  v: 1;
  op: "hello" | "alive" | "left";
  incarnation: number;
  record: MemberRecord;
}

interface Known {
  member: Member;
  /** When it was last heard from (ms). */
  heard: number;
}

// NATS's default max_payload: a record of 10,000 services fits.
const MAX_RECORD_TEXT = 1024 * 1024;
/** Dead and left members are forgotten after this long (ms). */
const REAP_AFTER_MS = 10 * 60_000;
const json = new TextEncoder();

/** Options of {@link createNatsLookup}. */
export interface NatsLookupSettings {
  nc: NatsConnection;
  prefix: string;
  self: MemberRecord;
  micro: MicroResponder;
  logger: Logger;
  options?: NatsLookupOptions;
  /** Called with the record whenever it changes, so the micro metadata follows. */
  onSelf?: (record: MemberRecord) => void;
}

/** The look-up backend over NATS. */
export function createNatsLookup(settings: NatsLookupSettings): LookupBackend {
  const { nc, prefix, micro, logger } = settings;
  const heartbeat = settings.options?.heartbeat ?? 2_000;
  const ttl = settings.options?.ttl ?? 3 * heartbeat;
  const sweepEvery = settings.options?.sweep ?? 15_000;
  const joinSettle = settings.options?.joinSettle ?? 150;
  const subject = `${prefix}.lookup`;
  const listeners = new Set<(event: MembershipEvent) => void>();
  const known = new Map<string, Known>();
  let self: MemberRecord = { ...settings.self, started: settings.self.started ?? Date.now() };
  let incarnation = 1;
  let running = false;
  let subscription: Subscription | null = null;
  const timers: NodeJS.Timeout[] = [];

  const emit = (event: MembershipEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.warn({ err: error }, "a membership listener failed");
      }
    }
  };

  const announce = (op: Announcement["op"]): void => {
    const message: Announcement = { v: 1, op, incarnation, record: self };
    try {
      nc.publish(subject, json.encode(JSON.stringify(message)));
    } catch (error) {
      logger.debug({ err: error }, "announcing on NATS failed");
    }
  };

  /** Takes in what a member says (or what INFO showed) about itself. */
  const heard = (record: MemberRecord, memberIncarnation: number, state: MemberState): void => {
    if (record.id === self.id || record.cluster !== self.cluster) return;
    const now = Date.now();
    const before = known.get(record.id);
    if (!before) {
      if (state === "left") return;
      const member: Member = { record, state: "alive", incarnation: memberIncarnation, since: now };
      known.set(record.id, { member, heard: now });
      // A restart under the same name replaces the old id, as with gossip.
      for (const [id, other] of known) {
        if (id !== record.id && other.member.record.name === record.name && other.member.state === "alive" && (other.member.record.started ?? 0) < (record.started ?? 0)) {
          setState(other, "left");
        }
      }
      emit({ type: "join", member });
      return;
    }
    if (state === "left") {
      if (before.member.state !== "left") setState(before, "left");
      return;
    }
    before.heard = now;
    const stale = memberIncarnation < before.member.incarnation;
    if (before.member.state !== "alive") {
      before.member = { record: stale ? before.member.record : record, state: "alive", incarnation: Math.max(memberIncarnation, before.member.incarnation), since: now };
      emit({ type: "alive", member: before.member });
      return;
    }
    if (memberIncarnation > before.member.incarnation) {
      before.member = { ...before.member, record, incarnation: memberIncarnation };
      emit({ type: "update", member: before.member });
    }
  };

  const setState = (entry: Known, state: MemberState): void => {
    entry.member = { ...entry.member, state, since: Date.now() };
    emit({ type: state === "left" ? "left" : state === "dead" ? "dead" : "update", member: entry.member });
  };

  const onAnnouncement = (msg: Msg): void => {
    if (msg.data.length > MAX_RECORD_TEXT) return;
    let message: Partial<Announcement>;
    try {
      message = JSON.parse(msg.string()) as Partial<Announcement>;
    } catch {
      return;
    }
    const record = checkRecord(message?.record);
    if (!record || typeof message.incarnation !== "number" || !Number.isFinite(message.incarnation)) return;
    if (message.op === "left") {
      heard(record, message.incarnation, "left");
      return;
    }
    if (message.op !== "alive" && message.op !== "hello") return;
    heard(record, message.incarnation, "alive");
    // A newcomer learns the view at once: everyone answers its hello.
    if (message.op === "hello" && record.id !== self.id && record.cluster === self.cluster && running) announce("alive");
  };

  /** `$SRV.INFO` across NATS: the members that serve something, even if their announcements never reached us. */
  const sweep = async (settle: number): Promise<void> => {
    const found = new Map<string, MemberRecord>();
    for (const reply of await gather(nc, "$SRV.INFO", settle, Math.max(1_000, settle * 4))) {
      if (reply.data.length === 0 || reply.data.length > MAX_RECORD_TEXT) continue;
      let info: Partial<MicroInfo>;
      try {
        info = JSON.parse(reply.string()) as Partial<MicroInfo>;
      } catch {
        continue;
      }
      const record = recordFromInfo(info);
      if (!record) continue;
      const entry = found.get(record.id);
      if (entry) entry.services.push(...record.services);
      else found.set(record.id, record);
    }
    for (const record of found.values()) {
      const before = known.get(record.id);
      // A member we know speaks for itself in its announcements; INFO only finds the ones we missed.
      if (!before) heard(record, 0, "alive");
      else if (before.member.state === "alive") before.heard = Date.now();
    }
  };

  const expire = (): void => {
    const now = Date.now();
    for (const [id, entry] of known) {
      const state = entry.member.state;
      if (state === "alive" && now - entry.heard > ttl) setState(entry, "dead");
      else if ((state === "dead" || state === "left") && now - entry.member.since > REAP_AFTER_MS) known.delete(id);
    }
  };

  const stopTimers = (): void => {
    for (const timer of timers.splice(0)) clearInterval(timer);
  };

  return {
    async start() {
      running = true;
      micro.start();
      subscription = nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error) return;
          try {
            onAnnouncement(msg);
          } catch (failure) {
            logger.debug({ err: failure }, "look-up announcement dropped");
          }
        },
      });
      announce("hello");
      await nc.flush();
      await sweep(joinSettle);
      timers.push(
        setInterval(() => announce("alive"), heartbeat),
        setInterval(expire, Math.max(50, Math.min(heartbeat, ttl / 3))),
        setInterval(() => void sweep(joinSettle), sweepEvery),
      );
      for (const timer of timers) timer.unref();
    },
    members() {
      return [{ record: self, state: "alive", incarnation, since: 0 }, ...[...known.values()].map((entry) => entry.member)];
    },
    update(change) {
      self = { ...self, ...change };
      incarnation++;
      settings.onSelf?.(self);
      if (change.services !== undefined || change.addresses !== undefined || change.labels !== undefined) micro.refresh();
      if (running) announce("alive");
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async leave(timeoutMs = 1_000) {
      if (!running) return;
      running = false;
      stopTimers();
      micro.stop();
      subscription?.unsubscribe();
      incarnation++;
      announce("left");
      await Promise.race([nc.flush().catch(() => {}), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
    async stop() {
      running = false;
      stopTimers();
      micro.stop();
      subscription?.unsubscribe();
    },
  };
}

/**
 * Every answer to one request on `subject`, gathered until none came for
 * `settle` ms, or `maxWait` passed. Nobody listening (NATS's no-responders
 * status) ends it at once.
 */
export async function gather(nc: NatsConnection, subject: string, settle: number, maxWait: number): Promise<Msg[]> {
  const replies: Msg[] = [];
  const inbox = createInbox();
  let subscription: Subscription | undefined;
  await new Promise<void>((resolve) => {
    let stall: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(stall);
      clearTimeout(overall);
      resolve();
    };
    const overall = setTimeout(done, maxWait);
    try {
      subscription = nc.subscribe(inbox, {
        callback: (error, msg) => {
          if (error || msg.headers?.code === 503) {
            done();
            return;
          }
          if (replies.length < 10_000) replies.push(msg);
          clearTimeout(stall);
          stall = setTimeout(done, settle);
        },
      });
      nc.publish(subject, Empty, { reply: inbox });
    } catch {
      done();
    }
  });
  subscription?.unsubscribe();
  return replies;
}

/** A record from an announcement, checked field by field; undefined when anything is off. */
function checkRecord(value: unknown): MemberRecord | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const strings = (list: unknown): list is string[] => Array.isArray(list) && list.length <= 64 && list.every((s) => typeof s === "string" && s.length <= 512);
  if (typeof r.id !== "string" || r.id.length === 0 || r.id.length > 128) return undefined;
  if (typeof r.name !== "string" || r.name.length > 256 || typeof r.cluster !== "string" || r.cluster.length > 256) return undefined;
  if (!strings(r.addresses)) return undefined;
  if (typeof r.labels !== "object" || r.labels === null || Array.isArray(r.labels)) return undefined;
  const labels: Record<string, string> = {};
  for (const [key, label] of Object.entries(r.labels as Record<string, unknown>)) {
    if (typeof label !== "string" || key === "__proto__") return undefined;
    labels[key] = label;
  }
  if (!Array.isArray(r.services) || r.services.length > 20_000) return undefined;
  const services: Array<[string, string]> = [];
  for (const entry of r.services as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || typeof entry[1] !== "string") return undefined;
    services.push([entry[0], entry[1]]);
  }
  const load = typeof r.load === "number" && Number.isFinite(r.load) ? r.load : 0;
  const started = typeof r.started === "number" && Number.isFinite(r.started) ? r.started : undefined;
  return {
    id: r.id,
    name: r.name,
    cluster: r.cluster,
    gossip: "",
    addresses: r.addresses,
    labels,
    services,
    load,
    ...(started === undefined ? {} : { started }),
  };
}

/** What an Amoeba node's `$SRV.INFO` answer says of the node; undefined for other micro services. */
function recordFromInfo(info: Partial<MicroInfo>): MemberRecord | undefined {
  const meta = info?.metadata;
  if (typeof meta !== "object" || meta === null) return undefined;
  const id = meta[META.node];
  const service = meta[META.service];
  if (typeof id !== "string" || typeof service !== "string" || typeof info.version !== "string") return undefined;
  let labels: unknown = {};
  try {
    labels = JSON.parse(meta[META.labels] ?? "{}");
  } catch {
    labels = {};
  }
  return checkRecord({
    id,
    name: meta[META.nodeName] ?? id,
    cluster: meta[META.cluster] ?? "default",
    addresses: (meta[META.addresses] ?? "").split(" ").filter((a) => a !== ""),
    labels,
    services: [[service, info.version]],
    load: 0,
  });
}
