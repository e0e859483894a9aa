// Aligned plain-text tables for the CLI's human-readable output (the per-layer tables of prune
// and footprint, eval's per-record metrics, label/value lists). Pure: styling (chalk) stays with
// the caller, passed in as functions or already in the cells; escape codes take no width here.

import { stripAnsi } from './text.js';

export interface Column {
  /** Header text; a header line is printed when any column has a non-empty one. */
  header?: string;
  /** 'left' (the default, for names) or 'right' (for numbers). */
  align?: 'left' | 'right';
  /** Minimum width: the column is as wide as its widest cell or header, and at least this. */
  width?: number;
  /** Spaces before this column (default 1; none before the first). */
  gap?: number;
}

export interface TableOptions {
  /** Put before every line, e.g. '  ' under a heading. */
  indent?: string;
  /** Styles the whole header line, e.g. chalk.dim. */
  styleHeader?: (line: string) => string;
}

/** A row whose first cells sit in their columns and whose note runs on across the rest. */
export interface TableNote {
  cells: string[];
  note: string;
}

/** A right-aligned column with a header, at least `width` wide: for numbers. */
export const numberColumn = (header: string, width = 0): Column => ({ header, align: 'right', width });

const visibleLength = (s: string) => stripAnsi(s).length;

/**
 * The lines of a table, header first (when there is one), without newlines. A row may have fewer
 * cells than there are columns (the rest are empty). Lines carry no trailing spaces: the last cell
 * is not padded on the right, and empty cells at the end are left out. A note (footprint's
 * "MAC   no point reaches 32.6 dB") counts for no column's width.
 */
export function formatTable(columns: Column[], rows: Array<string[] | TableNote>, options: TableOptions = {}): string[] {
  const { indent = '', styleHeader = (line: string) => line } = options;
  const cellsOf = (row: string[] | TableNote) => (Array.isArray(row) ? row : row.cells);
  for (const row of rows) {
    const n = cellsOf(row).length + (Array.isArray(row) ? 0 : 1);
    if (n > columns.length) throw new RangeError(`a table row of ${n} cells for ${columns.length} columns: ${cellsOf(row).join(' | ')}`);
  }
  const header = columns.some((c) => c.header) ? columns.map((c) => c.header ?? '') : null;
  const widths = columns.map((c, k) => Math.max(
    c.width ?? 0,
    visibleLength(header?.[k] ?? ''),
    ...rows.map((r) => visibleLength(cellsOf(r)[k] ?? '')),
  ));

  const line = (cells: string[], note?: string) => {
    const all = note === undefined ? cells : [...cells, note];
    let end = all.length;
    while (end > 0 && all[end - 1] === '') end--;
    return all.slice(0, end).map((cell, k) => {
      const gap = k === 0 ? '' : ' '.repeat(columns[k]!.gap ?? 1);
      if (k === cells.length) return gap + cell; // the note
      const pad = ' '.repeat(widths[k]! - visibleLength(cell));
      if (columns[k]!.align === 'right') return gap + pad + cell;
      return gap + (k === end - 1 ? cell : cell + pad);
    }).join('');
  };
  return [
    ...(header ? [indent + styleHeader(line(header))] : []),
    ...rows.map((r) => indent + (Array.isArray(r) ? line(r) : line(r.cells, r.note))),
  ];
}
