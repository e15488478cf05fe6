/** A parsed Amoeba address. */
export type Address =
  | { scheme: "tcp"; host: string; port: number }
  | { scheme: "unix"; path: string }
  | { scheme: "inproc"; name: string };

/** Thrown for an address Amoeba cannot use; the message shows the accepted forms. */
export class AddressError extends Error {
  override readonly name = "AddressError";
}

const FORMS = "tcp://host:port, unix:///path/to.sock or inproc://name";

/** Parses `tcp://host:port`, `unix:///abs/path.sock` (or `unix://./rel.sock`) and `inproc://name`. */
export function parseAddress(text: string): Address {
  const match = /^([a-z]+):\/\/(.*)$/.exec(text);
  if (!match) throw new AddressError(`"${text}" is not an address; use ${FORMS}`);
  const [, scheme, rest = ""] = match;
  switch (scheme) {
    case "tcp": {
      const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(\d{1,5})\/?$/.exec(rest);
      const port = Number(hostPort?.[2]);
      if (!hostPort || port > 65535) {
        throw new AddressError(`"${text}" needs a host and a port, as in tcp://127.0.0.1:7400`);
      }
      return { scheme: "tcp", host: hostPort[1]!.replace(/^\[|\]$/g, ""), port };
    }
    case "unix":
      if (rest === "") throw new AddressError(`"${text}" needs a socket path, as in unix:///tmp/amoeba.sock`);
      return { scheme: "unix", path: rest };
    case "inproc":
      if (!/^[\w.-]+$/.test(rest)) throw new AddressError(`"${text}" needs a name of letters, digits, '.', '_' or '-'`);
      return { scheme: "inproc", name: rest };
    default:
      throw new AddressError(`unknown scheme "${scheme}" in "${text}"; use ${FORMS}`);
  }
}

/** Formats an address back to its string form. */
export function formatAddress(address: Address): string {
  switch (address.scheme) {
    case "tcp":
      return `tcp://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
    case "unix":
      return `unix://${address.path}`;
    case "inproc":
      return `inproc://${address.name}`;
  }
}
