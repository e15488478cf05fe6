import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The local rendezvous: nodes of one cluster on one machine find each other
 * with no configuration. Each node leaves a small file naming its gossip
 * address in a well-known folder; a starting node uses the others as seeds.
 * Files of processes that are gone are removed by whoever notices.
 */
export interface RendezvousEntry {
  id: string;
  name: string;
  gossip: string;
  pid: number;
}

/** The folder of a cluster's rendezvous files (AMOEBA_RENDEZVOUS_DIR overrides the base). */
export function rendezvousDir(cluster: string): string {
  const base = process.env.AMOEBA_RENDEZVOUS_DIR ?? join(tmpdir(), `amoeba-${process.getuid?.() ?? "user"}`);
  return join(base, encodeURIComponent(cluster));
}

/** Leaves this node's file; returns the function that removes it. */
export async function announceLocally(cluster: string, entry: RendezvousEntry): Promise<() => Promise<void>> {
  const dir = rendezvousDir(cluster);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${entry.id}.json`);
  await writeFile(file, JSON.stringify(entry), { mode: 0o600 });
  return () => rm(file, { force: true });
}

/** The gossip addresses of the other live nodes of `cluster` on this machine. */
export async function localSeeds(cluster: string, selfId: string): Promise<string[]> {
  const dir = rendezvousDir(cluster);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const seeds: string[] = [];
  for (const name of names.slice(0, 1000)) {
    if (!name.endsWith(".json")) continue;
    const file = join(dir, name);
    try {
      const entry = JSON.parse(await readFile(file, "utf8")) as Partial<RendezvousEntry>;
      if (entry.id === selfId || typeof entry.gossip !== "string" || typeof entry.pid !== "number") continue;
      if (!processAlive(entry.pid)) {
        await rm(file, { force: true });
        continue;
      }
      seeds.push(entry.gossip);
    } catch {
      // A file being written or a stray file: not a seed.
    }
  }
  return seeds;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
