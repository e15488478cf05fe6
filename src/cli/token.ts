/**
 * `amoeba token`: makes a bearer token for a node or tool, and the entry of
 * it for the `--tokens` file of the nodes that are to take it. The token
 * goes to standard output alone (for a secret store, or $AMOEBA_TOKEN_FILE);
 * the entry, which holds only its digest, to standard error.
 */
import { hashToken, newToken } from "../index.ts";
import { parseOrHelp, stringOption } from "./args.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { TOKEN } from "./usage-tools.ts";

/** `amoeba token`: returns the exit code. */
export async function runToken(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(TOKEN, argv, io);
  if (!args) return EXIT.ok;
  if (args.positionals.length > 0) throw new UsageError(`takes no arguments, got ${args.positionals.join(" ")}`, "token");
  const name = stringOption(args, "name");
  if (name === undefined || name === "" || name.length > 128) throw new UsageError("--name names who the token is for (1 to 128 characters), as in: amoeba token --name orders", "token");
  const token = newToken();
  io.out(token);
  io.err(`add to the --tokens file of the nodes that take it: ${JSON.stringify({ name, sha256: hashToken(token) })}`);
  return EXIT.ok;
}
