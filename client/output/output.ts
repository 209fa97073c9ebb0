/** The one place that writes to the terminal: human text or JSON, colours decided once per command. */
import { colorsWanted, createStyle, type Style } from './style';
import type { ErrorShape } from './shapes';

export interface TextSink {
  write(text: string): unknown;
}

export interface OutputTarget {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  isTTY: boolean;
  columns?: number;
}

export interface Output {
  readonly json: boolean;
  readonly style: Style;
  /** A terminal that can take a live, redrawn view. */
  readonly live: boolean;
  readonly columns: number;
  lines(lines: string[]): void;
  line(text?: string): void;
  /** One JSON document: indented for a single answer, one compact line per item of a stream. */
  printJson(value: unknown, options?: { stream?: boolean }): void;
  /** Raw text for in-place redraws. */
  raw(text: string): void;
  /** A note on stderr that does not belong in piped output. */
  note(text: string): void;
  error(exitCode: number, message: string): void;
}

export function createOutput(target: OutputTarget, options: { json: boolean }): Output {
  const style = createStyle(!options.json && colorsWanted(target.isTTY, target.env));
  return {
    json: options.json,
    style,
    live: target.isTTY && !options.json,
    columns: target.columns && target.columns > 20 ? target.columns : 100,
    lines: (lines) => {
      if (lines.length > 0) target.stdout.write(`${lines.join('\n')}\n`);
    },
    line: (text = '') => target.stdout.write(`${text}\n`),
    printJson: (value, { stream = false } = {}) =>
      target.stdout.write(`${stream ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`),
    raw: (text) => target.stdout.write(text),
    note: (text) => target.stderr.write(`${text}\n`),
    error: (exitCode, message) => {
      if (options.json) {
        const shape: ErrorShape = { error: { exitCode, message } };
        target.stderr.write(`${JSON.stringify(shape)}\n`);
      } else {
        target.stderr.write(`${style.red('kmsflow:')} ${message}\n`);
      }
    },
  };
}
