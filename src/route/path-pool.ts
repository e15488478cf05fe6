/**
 * One array per distinct route path in a route table: the routes a
 * gateway learns share their paths (every global service behind one link
 * has the same one, and both gateways of a link advertise the same), so a
 * table holds each once, counted, and lets it go with its last route.
 * Paths handed out are frozen: they are shared.
 */
export class PathPool {
  readonly #paths = new Map<string, { path: readonly string[]; uses: number }>();

  /** The path `[first, ...rest]`, shared; give it back with {@link release}. */
  acquire(first: string, rest: readonly string[]): readonly string[] {
    const key = rest.length === 0 ? first : `${first}>${rest.join(">")}`;
    const held = this.#paths.get(key);
    if (held) {
      held.uses++;
      return held.path;
    }
    const path = Object.freeze([first, ...rest]);
    this.#paths.set(key, { path, uses: 1 });
    return path;
  }

  /** Gives back one use of `path`. */
  release(path: readonly string[]): void {
    const key = path.join(">");
    const held = this.#paths.get(key);
    if (held && --held.uses === 0) this.#paths.delete(key);
  }

  /** How many distinct paths are held (for tests). */
  get size(): number {
    return this.#paths.size;
  }
}
