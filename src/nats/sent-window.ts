/**
 * The messages one end of a virtual connection sent and the peer has not
 * acknowledged yet, kept so they can be sent again after a reconnection or a
 * loss. Sequence numbers are consecutive, so a message's number is the first
 * kept one's plus its place; acknowledging drops from the front.
 */
export class SentWindow {
  #messages: Uint8Array[] = [];
  #head = 0;
  /** The sequence number of `#messages[#head]`. */
  #firstSeq = 1;
  #bytes = 0;
  /** When the peer last acknowledged something, or the window last went from empty to not (ms). */
  progressAt = 0;

  /** Messages kept. */
  get size(): number {
    return this.#messages.length - this.#head;
  }

  /** Bytes kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps message `seq`, sent at `now`. */
  push(seq: number, message: Uint8Array, now: number): void {
    if (this.size === 0) {
      this.#firstSeq = seq;
      this.progressAt = now;
    }
    this.#messages.push(message);
    this.#bytes += message.length;
  }

  /** The peer received every message up to `seq`: forget them. */
  ack(seq: number, now: number): void {
    let dropped = 0;
    while (this.#head < this.#messages.length && this.#firstSeq <= seq) {
      this.#bytes -= this.#messages[this.#head]!.length;
      this.#messages[this.#head] = EMPTY;
      this.#head++;
      this.#firstSeq++;
      dropped++;
    }
    if (dropped === 0) return;
    this.progressAt = now;
    if (this.#head === this.#messages.length) {
      this.#messages = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#messages.length) {
      this.#messages = this.#messages.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Calls `send` on every kept message, oldest first. */
  forEach(send: (message: Uint8Array) => void): void {
    for (let i = this.#head; i < this.#messages.length; i++) send(this.#messages[i]!);
  }

  /** Forgets everything. */
  clear(): void {
    this.#messages = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}

const EMPTY = new Uint8Array(0);
