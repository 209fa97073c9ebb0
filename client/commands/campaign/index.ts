/** `kmsflow campaign`: a procedure across many clusters, in stages; one file per subcommand. */
import type { Command } from 'commander';
import { addExamples } from '../support/options';
import type { CommandModule } from '../support/runtime';
import { registerList } from './list';
import { registerOperators } from './operators';
import { registerPlan } from './plan';
import { registerReport } from './report';
import { registerStart } from './start';
import { registerStatus } from './status';
import { registerWatch } from './watch';

export const campaignCommand: CommandModule = {
  register(program: Command, runtime) {
    const campaign = program
      .command('campaign')
      .description(
        'Run a procedure across many clusters (selected by subscription, resource group, tag, fleet or list; inputs per cluster or one for all), in stages with concurrency, soak, approvals and an error budget.',
      );
    addExamples(campaign, [
      'kmsflow campaign plan rotate --subscription "$SUB" --tag env=prod',
      'kmsflow campaign start rotate --subscription "$SUB" --stage "canary size=1 soak=30m" --stage "rest concurrency=10% approval" --max-failures 2',
      'kmsflow campaign status rotate-20261201-090000',
      'kmsflow campaign approve rotate-20261201-090000 rest',
    ]);
    for (const register of [
      registerPlan,
      registerStart,
      registerStatus,
      registerReport,
      registerWatch,
      registerList,
      registerOperators,
    ])
      register(campaign, runtime);
  },
};
