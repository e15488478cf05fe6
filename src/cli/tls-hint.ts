/**
 * What a failed TLS handshake means for the command line: OpenSSL's words
 * ("tlsv13 alert certificate required", "wrong version number") turned into
 * the option to add or drop.
 */
import type { TlsClientOptions } from "../index.ts";

/** A hint for a connection that failed with `message`, dialed with `tls` (undefined: without TLS); undefined when it is no TLS matter. */
export function tlsHint(message: string, tls: TlsClientOptions | undefined): string | undefined {
  if (/alert certificate required/.test(message)) {
    return "the node asks for a client certificate (mutual TLS): give --tls-cert and --tls-key, signed by a CA it trusts";
  }
  if (tls === undefined) {
    return /closed during the handshake/.test(message) ? "if the node serves TLS, give --tls-ca (and --tls-cert and --tls-key for mutual TLS)" : undefined;
  }
  if (/wrong version number|packet length too long/.test(message)) return "the node does not speak TLS: drop --tls-ca, --tls-cert and --tls-key";
  if (/self[- ]signed certificate|unable to (?:get local issuer|verify the first) certificate/.test(message)) {
    return tls.ca === undefined ? "the node's certificate is not signed by a CA of this system: give --tls-ca" : "the node's certificate is not signed by --tls-ca";
  }
  if (/does not match certificate's altnames/.test(message)) return "the node's certificate is not issued for this address (its subjectAltName)";
  if (/alert (?:unknown ca|bad certificate|certificate unknown)|ECONNRESET/.test(message) && tls.cert !== undefined) {
    return "the node may have refused --tls-cert: is it signed by a CA the node trusts (its --tls-ca)?";
  }
  return undefined;
}
