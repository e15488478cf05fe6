/**
 * A plain text table: a header row in capitals, then one row per item, the
 * columns padded to their widest cell and two spaces apart. The last column
 * is not padded, so lines carry no trailing spaces.
 */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = ""): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `1 service`, `2 services`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
