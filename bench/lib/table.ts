/** A column of a text table: its heading and which side it aligns to. */
export interface Column {
  title: string;
  align: "left" | "right";
}

/** Renders rows of cells as a fixed-width text table with a rule under the heading. */
export function renderTable(columns: readonly Column[], rows: readonly string[][]): string {
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? "";
        return column.align === "left" ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
      })
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(columns.map((column) => column.title)), rule, ...rows.map(line)].join("\n");
}
