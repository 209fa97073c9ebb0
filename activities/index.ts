/**
 * Every side effect of kmsflow, built from injected clients: production passes DefaultAzureCredential
 * clients, tests and the demo pass sandbox ones.
 */
import type { Client } from '@temporalio/client';
import type { ClientFactory } from './clients';
import { createClusterActivities } from './cluster';
import { createEstateActivities } from './estate';
import { createFleetActivities } from './fleet';
import { createHealthActivities } from './health';
import { createKeyVaultActivities } from './keyvault';
import { createKubernetesActivities } from './kubernetes';
import { createLedgerActivities } from './ledger';
import { createPermissionActivities } from './permissions';
import { createProcedureRunActivities } from './procedure-runs';
import { createPreflightActivities, type PreflightOptions } from './preflight';
import { createReencryptActivities } from './reencrypt';

export interface ActivityDeps {
  clients: ClientFactory;
  /** How often running ARM operations are polled (default 5 s; tests use less). */
  pollIntervalMs?: number;
  /** For the key ledger, an entity workflow per cluster. */
  temporal?: Client;
  taskQueue?: string;
  /** Which subscriptions the estate always includes, and the rules of the per-procedure preflight activities. */
  preflight?: PreflightOptions;
}

export function createActivities(deps: ActivityDeps) {
  const cluster = createClusterActivities(deps.clients, { pollIntervalMs: deps.pollIntervalMs ?? 5_000 });
  const keyVault = createKeyVaultActivities(deps.clients);
  const permissions = createPermissionActivities(deps.clients);
  const kubernetes = createKubernetesActivities(deps.clients);
  const ledger = createLedgerActivities(deps.temporal, deps.taskQueue);
  const estate = createEstateActivities(deps.clients, ledger, {
    subscriptions: deps.preflight?.estateSubscriptions,
  });
  const preflight = createPreflightActivities(
    deps.clients,
    { ...cluster, ...keyVault, ...permissions, ...kubernetes, ...ledger, ...estate },
    deps.preflight,
  );
  const reencrypt = createReencryptActivities(deps.clients);
  const fleet = createFleetActivities(deps.clients, cluster);
  const procedureRuns = createProcedureRunActivities(deps.temporal);
  const health = createHealthActivities(deps.clients, { ...cluster, ...keyVault });
  return {
    ...cluster,
    ...fleet,
    ...keyVault,
    ...permissions,
    ...kubernetes,
    ...estate,
    ...preflight,
    ...reencrypt,
    ...ledger,
    ...procedureRuns,
    ...health,
  };
}

export type Activities = ReturnType<typeof createActivities>;
