import { stripAnsi } from './color.js';

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: 'left' | 'right';
  /** Columns with a max are truncated with an ellipsis to fit. */
  max?: number;
}

const width = (s: string) => [...stripAnsi(s)].length;

function fit(s: string, max: number | undefined): string {
  if (max === undefined || width(s) <= max) return s;
  return [...stripAnsi(s)].slice(0, Math.max(1, max - 1)).join('') + '…';
}

/**
 * A plain, aligned text table. No box drawing and no colour codes unless the cells carry them,
 * so it is the same on a terminal, in a pipe and in a Slack paste.
 */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((c) => fit(c.value(row), c.max)));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]!))));
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const pad = ' '.repeat(widths[i]! - width(v));
        return columns[i]!.align === 'right' ? pad + v : v + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}
