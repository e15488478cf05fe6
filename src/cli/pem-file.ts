/**
 * The PEM files the command line names (`--tls-cert`, `--tls-key`,
 * `--tls-ca`, …): read and parsed at once, so that a file that cannot be
 * read, or holds no certificate or key, is a usage error naming the option
 * and the file, not a failed handshake later.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { UsageError } from "./errors.ts";

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/g;
const PRIVATE_KEY = /-----BEGIN ((?:[A-Z]+ )*)PRIVATE KEY-----/;

/** The bytes of `--option file`; an unreadable file is a UsageError (exit 2). */
function readOptionFile(file: string, option: string, command: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "a directory, not a file" : (error as Error).message;
    throw new UsageError(`cannot read --${option} ${file}: ${why}`, command);
  }
}

/**
 * Reads a PEM file of one certificate or more (a chain, a CA bundle), checking
 * that each parses. Every mistake is a UsageError naming `--option` and the file.
 */
export function readCertificates(file: string, option: string, command: string): Buffer {
  const bytes = readOptionFile(file, option, command);
  const blocks = bytes.toString("utf8").match(CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new UsageError(`--${option} ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, command);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      const which = blocks.length === 1 ? "its certificate" : `certificate ${i + 1} of ${blocks.length}`;
      throw new UsageError(`--${option} ${file}: ${which} cannot be read: ${(error as Error).message}`, command);
    }
  });
  return bytes;
}

/** Reads an unencrypted PEM private key, checking that it parses. Every mistake is a UsageError naming `--option` and the file. */
function readPrivateKey(file: string, option: string, command: string): Buffer {
  const bytes = readOptionFile(file, option, command);
  const header = PRIVATE_KEY.exec(bytes.toString("utf8"));
  if (header === null) throw new UsageError(`--${option} ${file} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`, command);
  if (header[1] === "ENCRYPTED ") throw new UsageError(`--${option} ${file} is encrypted; give the key without a passphrase (openssl pkey -in ${file} -out <file>)`, command);
  try {
    createPrivateKey(bytes);
  } catch (error) {
    throw new UsageError(`--${option} ${file}: the key cannot be read: ${(error as Error).message}`, command);
  }
  return bytes;
}

/**
 * Reads a certificate (chain) and its private key, given to `--<prefix>-cert`
 * and `--<prefix>-key`, and checks that the key is the certificate's. Every
 * mistake is a UsageError naming the option and the file.
 */
export function readKeyPair(files: { cert: string; key: string }, prefix: string, command: string): { cert: Buffer; key: Buffer } {
  const cert = readCertificates(files.cert, `${prefix}-cert`, command);
  const key = readPrivateKey(files.key, `${prefix}-key`, command);
  const first = new X509Certificate(cert.toString("utf8").match(CERTIFICATE)![0]!);
  if (!first.checkPrivateKey(createPrivateKey(key))) {
    throw new UsageError(`--${prefix}-key ${files.key} is not the key of --${prefix}-cert ${files.cert} (${first.subject.replace(/\n/g, ", ")})`, command);
  }
  return { cert, key };
}
