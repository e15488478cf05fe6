/** Where a command writes: one line at a time, to standard output or standard error. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The process's own stdout and stderr. */
export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/** Resolves once what was written to stdout and stderr has been handed to the OS. */
export async function flushProcessIo(): Promise<void> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((done) => stream.write("", () => done()))));
}
