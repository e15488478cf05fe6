/**
 * A 32-bit string hash for placing keys and instances: MurmurHash3 (x86, 32-bit)
 * over the UTF-8 bytes of the text. Every client of a service must place a key
 * on the same instance, whatever its runtime or language, so the hash is a
 * standard one over a standard encoding rather than over JavaScript's UTF-16
 * code units. Its final mix makes every input bit flip about half the output
 * bits, which keeps ring points and buckets evenly spread even for ids that
 * differ only in a trailing digit.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const encoder = new TextEncoder();
// Reused for non-ASCII text so hashing allocates nothing after warm-up.
let scratch = new Uint8Array(256);

/**
 * Hashes `text` to an unsigned 32-bit integer (MurmurHash3 x86_32 of its UTF-8
 * bytes). The same text and seed give the same number in every process.
 *
 * @param seed - picks an independent hash function; default 0.
 */
export function hash32(text: string, seed = 0): number {
  let h = seed >>> 0;
  const length = text.length;
  const blocks = length & ~3;
  let i = 0;
  // ASCII fast path: one char is one byte, read four at a time, little-endian.
  for (; i < blocks; i += 4) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    const c = text.charCodeAt(i + 2);
    const d = text.charCodeAt(i + 3);
    if ((a | b | c | d) > 0x7f) return hashBytes(encode(text), seed);
    h = mixBlock(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  let k = 0;
  for (let shift = 0; i < length; i++, shift += 8) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return hashBytes(encode(text), seed);
    k |= c << shift;
  }
  if (length & 3) h ^= scramble(k);
  return finish(h, length);
}

/** Hashes `bytes[0..length)` with MurmurHash3 x86_32. */
function hashBytes(length: number, seed: number): number {
  const bytes = scratch;
  let h = seed >>> 0;
  const blocks = length & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  let k = 0;
  for (let shift = 0; i < length; i++, shift += 8) k |= bytes[i]! << shift;
  if (length & 3) h ^= scramble(k);
  return finish(h, length);
}

/** Writes `text` as UTF-8 into the scratch buffer; returns the byte count. */
function encode(text: string): number {
  // A UTF-16 code unit becomes at most three UTF-8 bytes.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  return encoder.encodeInto(text, scratch).written;
}

function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

// The final avalanche: without it, short keys differing in one byte would land close together.
function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
