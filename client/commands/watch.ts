import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { describeChanges, renderLiveFrame } from '../output/procedure-view';
import type { Output } from '../output/output';
import type { ProcedureSnapshot } from '../output/shapes';
import { usageError, CliError } from './support/errors';
import { addExamples, addJsonOption, seconds, workflowIdArgument, WORKFLOW_ID_HELP } from './support/options';
import { shellWord } from '../../workflows/engine/details';
import { readSnapshot } from './support/procedure-snapshot';
import type { CommandContext, CommandModule } from './support/runtime';
import { listProcedures } from './support/visibility';

export interface WatchOptions {
  interval: number;
  exitOnWait?: boolean;
}

/** How each poll is shown: a redrawn frame on a terminal, change lines in a pipe, JSON objects with --json. */
interface WatchView {
  show(previous: ProcedureSnapshot | undefined, next: ProcedureSnapshot): void;
  end(last: ProcedureSnapshot | undefined): void;
}

function liveView(out: Output): WatchView {
  let drawn = 0;
  const draw = (snapshot: ProcedureSnapshot, final: boolean) => {
    const frame = renderLiveFrame(snapshot, out.style, out.columns, { final });
    // Move to the first line of the previous frame and clear from there down, then draw the new frame.
    out.raw(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : '\x1b[?25l'}${frame.join('\n')}\n`);
    drawn = frame.length;
  };
  return {
    show: (_previous, next) => draw(next, false),
    end: (last) => {
      if (last) draw(last, true);
      out.raw('\x1b[?25h');
    },
  };
}

function lineView(out: Output): WatchView {
  return { show: (previous, next) => out.lines(describeChanges(previous, next)), end: () => {} };
}

function jsonView(out: Output): WatchView {
  let last = '';
  return {
    show: (_previous, next) => {
      const text = JSON.stringify(next);
      if (text !== last) out.printJson(next, { stream: true });
      last = text;
    },
    end: () => {},
  };
}

/** Without an id, the one running procedure; several running is a usage error that lists them. */
async function pickRunning(ctx: CommandContext): Promise<string> {
  const { rows } = await listProcedures(await ctx.temporal(), { status: 'running' }, 10);
  const only = rows[0];
  if (rows.length === 1 && only) return only.workflowId;
  if (only === undefined)
    throw new CliError(
      ExitCode.notFound,
      'No kmsflow procedure is running: `kmsflow list` shows the ended ones.',
    );
  throw usageError(
    `${rows.length} procedures are running; name one: kmsflow watch <workflowId> (${rows.map((r) => r.workflowId).join(', ')}).`,
  );
}

export const watchCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('watch')
      .argument('[workflowId]', WORKFLOW_ID_HELP)
      .description(
        'Follow a procedure until it ends: a live view on a terminal, one line (or JSON object with --json) per change otherwise.\n' +
          'Exits with the outcome: 0 completed, 4 failed or cancelled (3 with --exit-on-wait when it waits for an operator).',
      )
      .option('--interval <seconds>', 'how often to poll the procedure (default 1)', seconds(0.1, 60), 1)
      .option(
        '--exit-on-wait',
        'stop with exit code 3 as soon as the procedure waits for an approval, a resume or a fix',
      );
    addJsonOption(command);
    addExamples(command, [
      'kmsflow watch "$CLUSTER_ID"',
      'kmsflow watch                                  # the only running procedure',
      'kmsflow watch "$CLUSTER_ID" --json | jq .phase',
      'kmsflow watch "$CLUSTER_ID" --exit-on-wait || echo "needs an operator"',
    ]);
    command.action(
      runtime.action(async (ctx, workflowId: string | undefined, opts: WatchOptions) => {
        const id =
          workflowId === undefined ? await pickRunning(ctx) : workflowIdArgument(workflowId, 'watch');
        return watchProcedure(ctx, id, opts);
      }),
    );
  },
};

function pause(ms: number, signal: AbortSignal): Promise<'slept' | 'stopped'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve('slept');
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve('stopped');
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Follows a procedure until it ends (or Ctrl-C) and returns its exit code; shared with `start --watch`. */
export async function watchProcedure(
  ctx: CommandContext,
  workflowId: string,
  opts: WatchOptions,
): Promise<number> {
  const client = await ctx.temporal();
  const view = ctx.out.json ? jsonView(ctx.out) : ctx.out.live ? liveView(ctx.out) : lineView(ctx.out);
  const stop = new AbortController();
  const stopped = new Promise<'stopped'>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve('stopped')),
  );
  const dispose = ctx.io.onInterrupt?.(() => stop.abort());
  let last: ProcedureSnapshot | undefined;
  try {
    for (;;) {
      const next = await Promise.race([readSnapshot(client, workflowId), stopped]);
      if (next === 'stopped') break;
      view.show(last, next);
      last = next;
      if (next.status !== 'running' || (opts.exitOnWait && next.exitCode === ExitCode.waiting)) {
        view.end(next);
        return next.exitCode;
      }
      if ((await pause(opts.interval * 1000, stop.signal)) === 'stopped') break;
    }
  } catch (err) {
    view.end(undefined);
    throw err;
  } finally {
    dispose?.();
  }
  view.end(last);
  ctx.out.note(
    `Stopped watching. ${workflowId} keeps running: \`kmsflow status ${shellWord(workflowId)}\` shows it.`,
  );
  return ExitCode.success;
}
