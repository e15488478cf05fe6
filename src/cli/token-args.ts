/**
 * Bearer tokens from the command line: the token a command presents when it
 * dials comes from the environment ($AMOEBA_TOKEN, or a file named by
 * $AMOEBA_TOKEN_FILE, as secrets are mounted in containers), never from an
 * option that would show in the process list; the tokens a node takes come
 * from `--tokens <file>`, a JSON table of names and SHA-256 digests. Every
 * mistake is a usage error (exit 2) before anything starts.
 */
import { readFileSync } from "node:fs";
import { tokenTable, type TokenEntry, type TokenVerifier } from "../rpc/tokens.ts";
import { UsageError } from "./errors.ts";

export const TOKEN_ENV = "AMOEBA_TOKEN";
export const TOKEN_FILE_ENV = "AMOEBA_TOKEN_FILE";
const EXAMPLE = '{ "tokens": [ { "name": "orders", "sha256": "<64 hex digits>" } ] }';

/** The token this command presents when it dials, from $AMOEBA_TOKEN or $AMOEBA_TOKEN_FILE; undefined with neither. */
export function tokenFromEnv(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const inline = env[TOKEN_ENV] === "" ? undefined : env[TOKEN_ENV];
  const file = env[TOKEN_FILE_ENV] === "" ? undefined : env[TOKEN_FILE_ENV];
  if (inline !== undefined && file !== undefined) throw new UsageError(`$${TOKEN_ENV} and $${TOKEN_FILE_ENV} are both set: give the token one way`, command);
  let token = inline;
  if (file !== undefined) {
    try {
      // A file's last newline is not part of the token.
      token = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read $${TOKEN_FILE_ENV} ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, command);
    }
  }
  if (token !== undefined && (token.length < 16 || token.length > 4096)) {
    throw new UsageError(`the token in $${file === undefined ? TOKEN_ENV : TOKEN_FILE_ENV} is ${token.length} characters; a token has 16 to 4096 (amoeba token makes one)`, command);
  }
  return token;
}

/** `{ token }` from the environment, to spread into a node's options; empty without one. */
export function tokenOption(command: string): { token?: string } {
  const token = tokenFromEnv(command);
  return token === undefined ? {} : { token };
}

/** Reads `--tokens <file>`: the bearer tokens a node takes, and whose they are. */
export function readTokens(file: string, command: string): TokenVerifier {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read --tokens ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, command);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--tokens ${file} is not valid JSON: ${(error as Error).message}`, command);
  }
  const entries = (json as { tokens?: unknown } | null)?.tokens;
  if (typeof json !== "object" || json === null || Array.isArray(json) || !Array.isArray(entries)) {
    throw new UsageError(`--tokens ${file} must be an object with a list "tokens", as in ${EXAMPLE}`, command);
  }
  const unknown = Object.keys(json).find((field) => field !== "tokens");
  if (unknown !== undefined) throw new UsageError(`--tokens ${file}: unknown field "${unknown}"; the file has only "tokens"`, command);
  if (entries.length === 0) throw new UsageError(`--tokens ${file}: "tokens" is empty: no caller could present one`, command);
  entries.forEach((entry, index) => {
    const extra = typeof entry === "object" && entry !== null ? Object.keys(entry).find((field) => !["name", "sha256", "token"].includes(field)) : undefined;
    if (extra !== undefined) throw new UsageError(`--tokens ${file}: tokens[${index}]: unknown field "${extra}"; an entry has "name" and "sha256" (or "token")`, command);
  });
  try {
    return tokenTable(entries as TokenEntry[]);
  } catch (error) {
    throw new UsageError(`--tokens ${file}: ${(error as Error).message}`, command);
  }
}
