/** Small text formatters shared by every command's human output. */
import { stripStyle } from './style';

/** Seconds as `45s`, `3m 05s`, `2h 10m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** An ISO timestamp as `2025-01-31 14:05:09Z`: sortable, unambiguous, short. */
export function formatTime(iso: string | Date | null | undefined): string {
  if (!iso) return '';
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function formatRate(rate: number): string {
  return rate >= 10 ? String(Math.round(rate)) : rate.toFixed(1);
}

/** `[██████░░░░]`; an unknown total gives an empty bar. */
export function progressBar(done: number, total: number | null | undefined, width = 24): string {
  if (!total || total <= 0) return `[${'░'.repeat(width)}]`;
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/** Columns padded to their widest cell; styled cells are measured without their colour codes. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => stripStyle(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - stripStyle(cell).length),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Cuts a line to the terminal width so a live view can count the lines it drew. */
export function fitToWidth(line: string, columns: number): string {
  const visible = stripStyle(line);
  if (visible.length <= columns) return line;
  // Styled lines are cut on their plain text: losing the colour of a cut line beats a wrapped one.
  return `${visible.slice(0, Math.max(0, columns - 1))}…`;
}
