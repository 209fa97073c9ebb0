import type { Command } from 'commander';
import type { Phase } from '../../workflows/messages';
import { ExitCode } from '../exit-codes';
import { renderProcedureTable } from '../output/procedure-view';
import { PHASES, PROCEDURE_STATUSES, type ProcedureList, type ProcedureStatus } from '../output/shapes';
import { addExamples, addJsonOption, nonEmptyText, oneOf, wholeNumber } from './support/options';
import type { CommandContext, CommandModule } from './support/runtime';
import { withProofs } from './support/ledger';
import { listProcedures, type ProcedureFilters } from './support/visibility';

interface ListOptions {
  cluster?: string;
  procedure?: string;
  phase?: Phase;
  status?: ProcedureStatus;
  limit: number;
}

export const DEFAULT_LIST_LIMIT = 20;

/** Lists procedures and prints them as a table or a `ProcedureList`; shared with `status` without an id. */
export async function printProcedures(
  ctx: CommandContext,
  filters: ProcedureFilters,
  limit: number,
): Promise<number> {
  const client = await ctx.temporal();
  const listed = await listProcedures(client, filters, limit);
  const query = listed.query;
  const rows = await withProofs(client, listed.rows);
  if (ctx.out.json) {
    const list: ProcedureList = { query, procedures: rows };
    ctx.out.printJson(list);
  } else {
    ctx.out.lines(renderProcedureTable(rows, ctx.out.style));
  }
  return ExitCode.success;
}

export const listCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('list')
      .description('List kmsflow procedures, newest first, filtered by their search attributes.')
      .option(
        '--cluster <name|resourceId>',
        'only procedures on this cluster: its name, or its resource id (every procedure ever run on it)',
        nonEmptyText('cluster'),
      )
      .option('--procedure <name>', 'only this procedure, e.g. rotate-key', nonEmptyText('procedure'))
      .option('--phase <phase>', `only procedures in this phase: ${PHASES.join(', ')}`, oneOf(PHASES))
      .option(
        '--status <status>',
        `only procedures with this status: ${PROCEDURE_STATUSES.join(', ')}`,
        oneOf(PROCEDURE_STATUSES),
      )
      .option(
        '--limit <n>',
        `show at most n procedures (default ${DEFAULT_LIST_LIMIT})`,
        wholeNumber(1, 1000),
        DEFAULT_LIST_LIMIT,
      );
    addJsonOption(command);
    addExamples(command, [
      'kmsflow list',
      'kmsflow list --status running',
      'kmsflow list --cluster aks-prod-1 --procedure rotate-key --limit 5',
      'kmsflow list --phase waiting-approval --json',
    ]);
    command.action(
      runtime.action(async (ctx, opts: ListOptions) =>
        printProcedures(
          ctx,
          { cluster: opts.cluster, procedure: opts.procedure, phase: opts.phase, status: opts.status },
          opts.limit,
        ),
      ),
    );
  },
};
