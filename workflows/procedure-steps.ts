/**
 * The building blocks every procedure is made of: preflight, ledger guards, the canary, a cluster change
 * (submit + await), the re-encryption child, the vault's network access, key versions. Each returns a
 * StepDefinition for the engine, with the equivalent manual command for plans and status.
 */
import { ApplicationFailure } from '@temporalio/common';
import { patched, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { ClusterChange, ClusterDigest, NetworkAccess } from '../model/cluster-model';
import { kmsEnableCommand } from '../model/kms-settings';
import type { EstateScope, PreflightInput, PreflightReport } from '../model/preflight';
import { type LegacyPreflightProcedure, preflightActivityName } from '../model/preflight-names';
import { ESTATE_RETIREMENT_RULES, type RuleCode } from '../model/rules';
import type { Marker } from '../activities/reencrypt/types';
import { longRunning, quick } from './activity-proxies';
import type { StepContext, StepDefinition, StepEffect } from './engine/procedure';
import { parseClusterId, parseKeyId } from '../model/ids';
import type { LedgerEvent, LedgerView } from '../model/ledger-model';
import { baselineReason, retirementBlocker } from '../model/ledger-model';
import { reencryptProgressSignal } from './messages';
import {
  ESTATE_RETIREMENT_PATCH,
  OPERATION_TIMING_PATCH,
  PREFLIGHT_RULES_PATCH,
  RUN_SCOPED_IDENTITY_PATCH,
} from './patches';
import {
  type ExpectedEncryption,
  type ReencryptResult,
  reencryptSecrets,
  type ReencryptSettings,
} from './reencrypt';

/** What the steps of one procedure run share: the cluster, facts learnt on the way, the evidence. */
export class ProcedureRun {
  report?: PreflightReport;
  canary?: Marker;
  /** Set by the ledger guard: no proof yet that every Secret is under the current key. */
  baselineNeeded = false;
  cluster?: ClusterDigest;
  readonly evidence: ReencryptResult[] = [];
  /** The cluster's procedure workflow id: the same for every procedure ever run on the cluster. */
  readonly workflowId = workflowInfo().workflowId;
  /**
   * This procedure run: its first run id, unique to it and stable across worker crashes and replays. Every
   * identity of a side effect is built from it (see `operationKey`).
   */
  readonly runId = workflowInfo().firstExecutionRunId;

  constructor(
    readonly clusterId: string,
    readonly reencryptSettings?: Partial<ReencryptSettings>,
  ) {}

  get name(): string {
    return parseClusterId(this.clusterId).name;
  }

  get az(): string {
    const ref = parseClusterId(this.clusterId);
    return `-g ${ref.resourceGroup} -n ${ref.name}`;
  }

  /**
   * The identity of one side effect: `kmsflow/<procedure run id>/<step id>/<attempt>`. It makes the cluster
   * PUT (tag `kmsflow-operation`), the key-version creation (key tag) and the canary and watermark nonces
   * idempotent. Unique to one procedure run and one step attempt, so the next procedure on the cluster (same
   * workflow id) and a `retry` after a block (next attempt) never meet an earlier identity; stable across
   * worker crashes, activity retries and the re-encryption's continue-as-new, so those never act twice.
   * The cluster's workflow id is deliberately not part of it: it repeats for every procedure.
   */
  operationKey(stepId: string, ctx: StepContext): string {
    return `kmsflow/${this.runId}/${stepId}/${ctx.attempt}`;
  }

  /** A ledger event's id: the step attempt's operation key and the event kind, so each is recorded once. */
  async record(
    stepId: string,
    ctx: StepContext,
    event: DistributiveOmit<LedgerEvent, 'id' | 'at' | 'workflowId' | 'runId' | 'operation'>,
  ): Promise<LedgerView> {
    const operation = this.operationKey(stepId, ctx);
    const full = {
      ...event,
      id: `${operation}/${event.kind}`,
      operation,
      at: new Date().toISOString(),
      workflowId: this.workflowId,
      runId: this.runId,
    } as LedgerEvent;
    return quick.recordLedgerEvent({ clusterId: this.clusterId, event: full });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A re-encryption child's workflow id: `<procedure workflow id>/<procedure run id>/<step id>/<attempt>`. */
export function reencryptChildId(workflowId: string, runId: string, stepId: string, attempt: number): string {
  return `${workflowId}/${runId}/${stepId}/${attempt}`;
}

/** A procedure as preflight sees it: its name and the rules its definition lists. */
export interface PreflightSubject {
  name: string;
  rules: readonly RuleCode[];
}

export function runPreflight(procedure: PreflightSubject, input: PreflightInput): Promise<PreflightReport> {
  if (patched(PREFLIGHT_RULES_PATCH))
    return quick.preflight({ ...input, procedure: procedure.name, rules: procedure.rules });
  // Runs started before the rules travelled with the input called the procedure's own activity.
  return quick[preflightActivityName(procedure.name as LegacyPreflightProcedure)](input);
}

export function preflightStep(
  run: ProcedureRun,
  procedure: PreflightSubject,
  input: () => PreflightInput,
): StepDefinition {
  return {
    id: 'preflight',
    title: 'Preflight: check every documented limit',
    command: `az aks show ${run.az}; az keyvault key show --id <key>; az role assignment list --scope <vault>`,
    run: async (ctx) => {
      const report = await runPreflight(procedure, input());
      run.report = report;
      run.cluster = report.cluster;
      const errors = report.findings.filter((f) => f.severity === 'error');
      const warnings = report.findings.filter((f) => f.severity === 'warning');
      ctx.setDetail(
        `${errors.length} error(s), ${warnings.length} warning(s)` +
          (report.secretCount !== undefined ? `, ${report.secretCount} Secrets` : ''),
      );
      if (errors.length > 0) {
        throw ApplicationFailure.create({
          message: `Preflight found ${errors.length} problem(s): ${errors.map((e) => `${e.code}: ${e.message}`).join(' ')}`,
          type: 'PreflightFailed',
          nonRetryable: true,
          details: [
            {
              code: errors[0]!.code,
              fix: errors
                .map((e) => e.fix)
                .filter(Boolean)
                .join(' '),
            },
          ],
        });
      }
      // The ledger learns the key in use, also on clusters whose KMS was enabled before kmsflow.
      const kms = report.cluster.kms;
      if (kms.enabled && kms.keyId) await run.record('preflight', ctx, { kind: 'key-set', keyId: kms.keyId });
      // What the operator vouched for where kmsflow could not verify (--assume-unused, --accept-unverified).
      if (report.overridden?.length) {
        await run.record('preflight', ctx, { kind: 'safety-override', overrides: report.overridden });
        ctx.setDetail(`overridden by the operator: ${report.overridden.join(', ')}`);
      }
    },
  };
}

export function rotationGuardStep(run: ProcedureRun): StepDefinition {
  return {
    id: 'ledger-guard',
    title: 'Key ledger: every Secret is proven under the key in use',
    command: 'kmsflow keys <cluster>',
    run: async (ctx) => {
      const ledger = await quick.readKeyLedger(run.clusterId);
      // Without that proof the rotation first makes it (the baseline step): pushing a key out of AKS's
      // slots while Secrets may still be under it is exactly what loses them.
      const reason = baselineReason(ledger);
      run.baselineNeeded = reason !== undefined;
      ctx.setDetail(
        reason ? `${reason}: re-encrypting under the key in use first` : 'proven under the key in use',
      );
    },
  };
}

export function canaryStep(run: ProcedureRun, id = 'canary'): StepDefinition {
  return {
    id,
    title: 'Write the canary Secret under the current key',
    command: 'kubectl -n kmsflow-system create secret generic kmsflow-canary --from-literal=nonce=<n>',
    run: async (ctx) => {
      run.canary = await quick.writeMarker({
        clusterId: run.clusterId,
        name: 'kmsflow-canary',
        nonce: run.operationKey(id, ctx),
      });
    },
  };
}

export interface ClusterChangeStepOptions {
  id: string;
  title: string;
  command: string;
  gate?: { id: string; prompt: string };
  change: () => ClusterChange;
  /** What the change does, known before it runs (the change itself may depend on what earlier steps learnt). */
  effect: Required<Pick<StepEffect, 'clusterOperation'>> & Pick<StepEffect, 'keySlot'>;
  /** When the change fails, re-encrypt under whatever the cluster now writes before blocking. */
  reencryptOnFailure?: boolean;
}

export function clusterChangeStep(run: ProcedureRun, options: ClusterChangeStepOptions): StepDefinition {
  return {
    id: options.id,
    title: options.title,
    command: options.command,
    gate: options.gate,
    effect: options.effect,
    run: async (ctx) => {
      const change = options.change();
      const sentAtMs = Date.now();
      try {
        const submission = await quick.submitClusterChange({
          clusterId: run.clusterId,
          change,
          operationKey: run.operationKey(options.id, ctx),
        });
        ctx.setDetail(
          submission.kind === 'already-done'
            ? 'already in the desired state'
            : 'waiting for the ARM operation',
        );
        // Nothing changed, so the canary will never be rewritten: the re-encryption relies on ARM and the wait.
        if (submission.kind === 'already-done') run.canary = undefined;
        run.cluster = await longRunning.awaitClusterChange.executeWithOptions(
          { summary: `${options.title} on ${run.name}` },
          [{ clusterId: run.clusterId, change, submission }],
        );
        if (submission.kind !== 'already-done') {
          ctx.setDetail(
            `done: Kubernetes ${run.cluster.kubernetesVersion}, KMS ${run.cluster.kms.enabled ? 'on' : 'off'}`,
          );
          // Runs recorded before operations were timed replay without this event.
          if (patched(OPERATION_TIMING_PATCH)) {
            const seconds = Math.round((Date.now() - sentAtMs) / 100) / 10;
            await run.record(options.id, ctx, {
              kind: 'cluster-operation',
              operationKind: change.kind === 'upgrade' ? 'upgrade' : 'kms',
              seconds,
            });
          }
        }
      } catch (err) {
        if (options.reencryptOnFailure) await reencryptAfterFailedChange(run, ctx, options.id);
        throw err;
      }
      if (change.kind === 'enable-kms')
        await run.record(options.id, ctx, { kind: 'key-set', keyId: change.keyId });
      if (change.kind === 'disable-kms') await run.record(options.id, ctx, { kind: 'kms-disabled' });
    },
  };
}

async function reencryptAfterFailedChange(
  run: ProcedureRun,
  ctx: StepContext,
  stepId: string,
): Promise<void> {
  // The article: a failed KMS update may leave Secrets written under either key; re-encrypt under what the
  // cluster now reports, so nothing depends on a key the operator might remove while fixing the cause.
  const digest = await quick.getClusterDigest(run.clusterId);
  if (digest.provisioningState.toLowerCase() !== 'succeeded') return;
  const expect: ExpectedEncryption =
    digest.kms.enabled && digest.kms.keyId
      ? { kms: 'enabled', keyId: digest.kms.keyId }
      : { kms: 'disabled' };
  ctx.setDetail('the change failed: re-encrypting under the cluster’s current key before blocking');
  await runReencryption(run, ctx, `${stepId}-recovery`, expect, undefined);
}

/** Before a rotation on a cluster without proof: re-encrypt under the key in use (no key change, no wait). */
export function baselineReencryptStep(
  run: ProcedureRun,
  currentKeyId: () => string | undefined,
): StepDefinition {
  return {
    ...reencryptStep(run, 'reencrypt-baseline', () => ({ kms: 'enabled', keyId: currentKeyId() as string }), {
      propagationWaitMs: 0,
    }),
    title: 'Re-encrypt under the key in use first (skipped when kmsflow holds its proof)',
    when: () => run.baselineNeeded && currentKeyId() !== undefined,
    effect: { reencrypts: 'baseline' },
  };
}

export function reencryptStep(
  run: ProcedureRun,
  id: string,
  expect: () => ExpectedEncryption,
  settings?: Partial<ReencryptSettings>,
): StepDefinition {
  return {
    id,
    title: 'Re-encrypt every Secret and verify (storage migration)',
    command: 'kubectl get secrets --all-namespaces -o json | kubectl replace -f -',
    effect: { reencrypts: 'after-change' },
    run: async (ctx) => {
      const result = await runReencryption(
        run,
        ctx,
        id,
        expect(),
        id === 'reencrypt-baseline' ? undefined : run.canary,
        settings,
      );
      if (!result.proven) {
        const named = result.failures.slice(0, 5).map((f) => `${f.namespace}/${f.name} (${f.reason})`);
        throw ApplicationFailure.create({
          message:
            `Re-encryption not proven: ${result.notProven.join(' ')} ${named.length ? `First: ${named.join('; ')}.` : ''}`.trim(),
          type: 'NotProven',
          nonRetryable: true,
          details: [
            {
              code: 'NotProven',
              fix: 'Fix the named Secrets (e.g. a terminating namespace, an admission webhook) and retry: the pass runs again and keeps what is done.',
            },
          ],
        });
      }
    },
  };
}

async function runReencryption(
  run: ProcedureRun,
  ctx: StepContext,
  stepId: string,
  expect: ExpectedEncryption,
  canary: Marker | undefined,
  settings?: Partial<ReencryptSettings>,
): Promise<ReencryptResult> {
  setHandler(reencryptProgressSignal, (p) => {
    ctx.setDetail(p.waitingFor ? `waiting: ${p.waitingFor}` : `${p.pass} pass`);
    ctx.reportProgress({
      done: p.done,
      total: p.total,
      unit: 'Secret checks',
      active: p.pass !== 'key-active',
    });
  });
  const keyId = expect.kms === 'enabled' ? expect.keyId : undefined;
  // Histories recorded before procedure runs had their own identity replay unchanged (old child ids, no
  // start event); every procedure started since takes this branch.
  const runScoped = patched(RUN_SCOPED_IDENTITY_PATCH);
  // Recorded first, so a cancel or a crash anywhere in the re-encryption leaves the ledger saying
  // "no proof": the next rotation then re-encrypts under the key in use before it moves a key out of a slot.
  if (runScoped) await run.record(stepId, ctx, { kind: 'reencryption-started', keyId });
  const child = await startChild(reencryptSecrets, {
    workflowId: runScoped
      ? reencryptChildId(run.workflowId, run.runId, stepId, ctx.attempt)
      : `${run.workflowId}/${stepId}/${ctx.attempt}`,
    args: [
      {
        clusterId: run.clusterId,
        expect,
        canary,
        operationKey: run.operationKey(stepId, ctx),
        settings: { ...run.reencryptSettings, ...settings },
      },
    ],
    staticSummary: `Re-encrypt every Secret of ${run.name}`,
  });
  ctx.forwardControlTo(child);
  const result = await child.result();
  run.evidence.push({ ...result, step: stepId });
  await run.record(stepId, ctx, {
    kind: 'reencrypted',
    keyId,
    proven: result.proven,
    watermark: result.watermark,
    digest: result.verify.digest,
    objects: result.verify.objects,
    secretsPerSecond: result.secretsPerSecond,
  });
  ctx.setDetail(
    `${result.proven ? 'proven' : 'NOT proven'}: ${result.rewrite.counts.rewritten} rewritten, ${result.rewrite.counts.alreadyCurrent} already current, ` +
      `${result.verify.counts.stale} stale, ${result.verify.counts.failed} failed; ${result.secretsPerSecond} Secrets/s`,
  );
  return result;
}

export function vaultAccessStep(
  run: ProcedureRun,
  vaultResourceId: () => string,
  access: 'Enabled' | 'Disabled',
): StepDefinition {
  return {
    id: `vault-public-access-${access.toLowerCase()}`,
    title: `Set the key vault's public network access to ${access}`,
    command: `az keyvault update --name <vault> --public-network-access ${access}`,
    effect: { vaultPublicAccess: access },
    run: async (ctx) => {
      const vault = await quick.ensureVaultPublicNetworkAccess({
        vaultResourceId: vaultResourceId(),
        publicNetworkAccess: access,
      });
      ctx.setDetail(vault.changed ? `changed to ${access}` : `already ${access}`);
    },
  };
}

/** A new version of the key named in `keyId` (same vault, same name), created once per procedure. */
export function newKeyVersionStep(
  run: ProcedureRun,
  id: string,
  fromKeyId: () => string,
  onCreated: (keyId: string) => void,
): StepDefinition {
  return {
    id,
    title: 'Create a new key version',
    command: 'az keyvault key rotate --vault-name <vault> --name <key>',
    effect: { createsKeyVersion: true },
    run: async (ctx) => {
      const ref = parseKeyId(fromKeyId());
      const created = await quick.createKeyVersion({
        vaultUrl: ref.vaultUrl,
        name: ref.name,
        operationKey: run.operationKey(id, ctx),
      });
      onCreated(created.id);
      ctx.setDetail(`created ${created.id}`);
    },
  };
}

export function retireStep(
  run: ProcedureRun,
  keyId: () => string,
  how: 'disable' | 'expire',
  estate?: EstateScope,
): StepDefinition {
  return {
    id: 'retire-key',
    title: `Retire the old key version (${how}; never delete)`,
    command:
      how === 'disable'
        ? 'az keyvault key set-attributes --id <key> --enabled false'
        : 'az keyvault key set-attributes --id <key> --expires <now>',
    gate: {
      id: 'retire-key',
      prompt: 'The old key version will be disabled/expired; kmsflow has proof that no Secret needs it.',
    },
    effect: { retiresKey: how },
    run: async (ctx) => {
      const ledger = await quick.readKeyLedger(run.clusterId);
      const blocker = retirementBlocker(ledger, keyId());
      if (blocker) {
        throw ApplicationFailure.create({
          message: `Refusing to retire ${keyId()}: ${blocker}`,
          type: 'RetirementUnsafe',
          nonRetryable: true,
          details: [
            {
              code: 'RetirementUnsafe',
              fix: 'Complete two proven rotations after this key first (kmsflow keys <cluster> shows what is still needed).',
            },
          ],
        });
      }
      if (patched(ESTATE_RETIREMENT_PATCH)) {
        // Checked again here, not only at preflight: other clusters (a campaign's other lanes) move meanwhile.
        const report = await quick.preflight({
          clusterId: run.clusterId,
          retiresKeyId: keyId(),
          ...(estate ? { estate } : {}),
          procedure: 'retire-key',
          rules: ESTATE_RETIREMENT_RULES,
        });
        const errors = report.findings.filter((f) => f.severity === 'error');
        if (errors.length > 0) {
          throw ApplicationFailure.create({
            message: `Refusing to retire ${keyId()}: ${errors.map((e) => e.message).join(' ')}`,
            type: errors[0]!.code,
            nonRetryable: true,
            details: [
              {
                code: errors[0]!.code,
                fix: [...new Set(errors.map((e) => e.fix).filter(Boolean))].join(' '),
              },
            ],
          });
        }
      } else {
        const users = await quick.clustersUsingKey({ clusterId: run.clusterId, keyId: keyId() });
        if (users.length > 0) {
          throw ApplicationFailure.create({
            message: `Refusing to retire ${keyId()}: cluster(s) ${users.map((u) => u.split('/').pop()).join(', ')} use it for KMS now.`,
            type: 'KeyInUseByOtherCluster',
            nonRetryable: true,
            details: [
              {
                code: 'KeyInUseByOtherCluster',
                fix: 'Rotate those clusters off this key version first (give each cluster its own key to avoid this).',
              },
            ],
          });
        }
      }
      const retired = await quick.retireKeyVersion({ keyId: keyId(), how });
      await run.record('retire-key', ctx, { kind: 'key-retired', keyId: keyId(), how });
      ctx.setDetail(
        `${retired.id}: enabled=${retired.enabled}${retired.expiresOn ? `, expires ${retired.expiresOn}` : ''}`,
      );
    },
  };
}

const DISABLE_GATE = {
  id: 'disable-kms',
  prompt:
    'Disabling KMS: from now until KMS is enabled again, Secrets are stored UNENCRYPTED in etcd (identity provider). The key stays enabled.',
};

/** Canary, disable KMS behind its gate, re-encrypt and verify: disable-kms, and the first half of a mode switch or v2 migration. */
export function disableAndReencryptSteps(
  run: ProcedureRun,
  ids: { canary: string; reencrypt: string },
  title: string,
): StepDefinition[] {
  return [
    canaryStep(run, ids.canary),
    clusterChangeStep(run, {
      id: 'disable-kms',
      title,
      command: `az aks update ${run.az} --disable-azure-keyvault-kms`,
      gate: DISABLE_GATE,
      change: () => ({ kind: 'disable-kms' }),
      effect: { clusterOperation: 'kms', keySlot: 'kms-off' },
      reencryptOnFailure: true,
    }),
    reencryptStep(run, ids.reencrypt, () => ({ kms: 'disabled' })),
  ];
}

/** Canary, enable KMS with a key and mode, re-encrypt and verify. */
export function enableAndReencryptSteps(
  run: ProcedureRun,
  ids: { canary: string; reencrypt: string },
  title: string,
  target: { keyId: string; networkAccess: NetworkAccess; vaultResourceId?: string },
): StepDefinition[] {
  return [
    canaryStep(run, ids.canary),
    clusterChangeStep(run, {
      id: 'enable-kms',
      title,
      command: kmsEnableCommand(run.az, target),
      change: () => ({ kind: 'enable-kms', ...target }),
      effect: { clusterOperation: 'kms', keySlot: { set: target.keyId } },
      reencryptOnFailure: true,
    }),
    reencryptStep(run, ids.reencrypt, () => ({ kms: 'enabled', keyId: target.keyId })),
  ];
}
