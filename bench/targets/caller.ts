/** What the generic load client needs from each system's client: the two benchmark calls. */
export interface Caller {
  /** Sends `{a, b}`, gets their sum. */
  add(a: number, b: number): Promise<number>;
  /** Sends a string, gets it back. */
  echo(text: string): Promise<string>;
  close(): Promise<void>;
}

/** Connects a Caller to a server at an address the server reported. */
export type OpenCaller = (address: string) => Promise<Caller>;
