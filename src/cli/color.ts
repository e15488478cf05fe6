/**
 * Colour for people at a terminal, and only there: off when the stream is
 * not a terminal, when `NO_COLOR` is set to anything but "" (no-color.org),
 * when `TERM=dumb`, or after `--no-color`; `FORCE_COLOR` (not "0") turns it on.
 */

/** Wraps text in one style's codes, or returns it as is when colour is off. */
export type Paint = (text: string) => string;

/** The styles the commands use. */
export interface Palette {
  readonly enabled: boolean;
  readonly bold: Paint;
  readonly dim: Paint;
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly cyan: Paint;
}

let switchedOff = false;

/** `--no-color`: no colour for the rest of the process, whatever the terminal. */
export function disableColor(): void {
  switchedOff = true;
}

/** Whether text written to `stream` may be coloured. */
export function colorEnabled(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (switchedOff) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

const style =
  (enabled: boolean, open: number, close: number): Paint =>
  (text) =>
    enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text;

/** The palette for text written to `stream` (stdout by default). */
export function paletteFor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): Palette {
  const enabled = colorEnabled(stream, env);
  return {
    enabled,
    bold: style(enabled, 1, 22),
    dim: style(enabled, 2, 22),
    red: style(enabled, 31, 39),
    green: style(enabled, 32, 39),
    yellow: style(enabled, 33, 39),
    cyan: style(enabled, 36, 39),
  };
}

/** Text without the codes a palette adds: for measuring what a terminal shows. */
export function stripColor(text: string): string {
  return text.replace(/\x1b\[\d+m/g, "");
}
