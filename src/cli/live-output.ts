import { processIo, type Io } from "./io.ts";

/**
 * Where a command shows what changes while it runs (`amoeba top`'s table,
 * `amoeba bench`'s progress): a terminal it may redraw in place, or plain
 * lines for a pipe, a file or a test.
 */
export interface LiveOutput {
  /** A terminal: the command may move the cursor and redraw with ANSI codes. */
  readonly tty: boolean;
  /** The terminal's size; 80 × 24 when it is no terminal. */
  readonly columns: number;
  readonly rows: number;
  /** Writes `text` as is; without a terminal, `text` is whole lines, each ending in a newline. */
  write(text: string): void;
}

/** Standard output as a {@link LiveOutput}: a terminal only when `io` is the process's own and stdout is one. */
export function liveStdout(io: Io): LiveOutput {
  return live(io, process.stdout, (line) => io.out(line));
}

/** Standard error as a {@link LiveOutput}, for progress that must not mix with the results on stdout. */
export function liveStderr(io: Io): LiveOutput {
  return live(io, process.stderr, (line) => io.err(line));
}

function live(io: Io, stream: NodeJS.WriteStream, line: (text: string) => void): LiveOutput {
  if (io === processIo && stream.isTTY) {
    return {
      tty: true,
      get columns() {
        return stream.columns || 80;
      },
      get rows() {
        return stream.rows || 24;
      },
      write: (text) => void stream.write(text),
    };
  }
  return {
    tty: false,
    columns: 80,
    rows: 24,
    write: (text) => {
      for (const part of text.replace(/\n$/, "").split("\n")) line(part);
    },
  };
}
