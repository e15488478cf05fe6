/**
 * A network namespace of a test's own, for a process that must listen on an
 * address other than loopback: `unshare -rn` (a new user and network
 * namespace; no root needed where user namespaces are allowed) with loopback
 * up and a private address on it. The address exists only inside that
 * namespace, which has no other interface: what the process binds there can
 * neither be reached from anywhere else nor send anywhere. Each process
 * started so gets a namespace of its own, gone when it exits.
 */
import { spawnSync } from "node:child_process";

/** The address a process in {@link inPrivateNamespace} may listen on. */
export const PRIVATE_ADDRESS = "10.214.0.1";

const SETUP = `ip link set lo up && ip addr add ${PRIVATE_ADDRESS}/32 dev lo`;

/** Null when private namespaces can be made here; else why not. */
export function privateNamespaceUnavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces need Linux";
  const probe = spawnSync("unshare", ["-rn", "sh", "-c", SETUP], { encoding: "utf8", timeout: 10_000 });
  if (probe.error) return `unshare cannot run: ${probe.error.message}`;
  return probe.status === 0 ? null : `cannot make a network namespace with unshare -rn and ip: ${`${probe.stderr}`.trim()}`;
}

/** The launcher (a command prefix that execs what follows) running a program in a private namespace with {@link PRIVATE_ADDRESS}. */
export function inPrivateNamespace(): string[] {
  return ["unshare", "-rn", "sh", "-c", `${SETUP} && exec "$@"`, "sh"];
}
