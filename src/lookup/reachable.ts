/**
 * The address to reach a node at, from where the caller runs: its Unix socket
 * when it runs on this host (`labels.host`), else TCP, else a Unix socket,
 * else whatever it has (a `nats://` address, reached through the same engine).
 * Undefined when it lists none.
 */
export function reachableAddress(node: { readonly addresses: readonly string[]; readonly labels: Readonly<Record<string, string>> }, host: string | undefined): string | undefined {
  const { addresses } = node;
  const unix = addresses.find((a) => a.startsWith("unix://"));
  if (unix && host !== undefined && node.labels.host === host) return unix;
  return addresses.find((a) => a.startsWith("tcp://")) ?? unix ?? addresses[0];
}
