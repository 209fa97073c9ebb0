/**
 * Preflight: reads, once, every fact the procedure's rules judge (model/preflight-facts.ts), then evaluates
 * the rules (model/rules/), which are pure. Reads only: nothing is changed. A read that fails in a way a rule
 * can name (not found, refused, unreachable) is kept as a fact; anything else fails the activity, to be retried.
 */
import type { KeyDigest, PermissionReport, VaultDigest } from '../model/azure-digests';
import type { ClusterDigest } from '../model/cluster-model';
import { parseKeyId, sameVault, upgradeHops, usesKmsV2 } from '../model/ids';
import type { LedgerView } from '../model/ledger-model';
import type { PreflightInput, PreflightReport, PreflightRequest } from '../model/preflight';
import {
  keyRead,
  type PreflightFacts,
  type Read,
  type ReadProblemKind,
  valueOf,
} from '../model/preflight-facts';
import {
  LEGACY_PREFLIGHT_PROCEDURES,
  preflightActivityName,
  type LegacyPreflightActivityName,
} from '../model/preflight-names';
import { evaluateRules, needsOf, type RuleCode } from '../model/rules';
import { subjectKeyId } from '../model/rules/vault-rules';
import { targetProblem } from '../model/rules/version-rules';
import type { ClientFactory } from './clients';
import { type EstateRequest, estateSubscriptions } from './estate';
import { classifyError, ErrorType, mapErrors } from './errors';
import { vaultDigestOf } from './keyvault';
import type { EstateSnapshot } from '../model/estate';

export type { Finding, PreflightInput, PreflightReport, PreflightRequest } from '../model/preflight';

/** The reads preflight shares with the procedures' own activities. */
export interface PreflightReads {
  getClusterDigest(clusterId: string): Promise<ClusterDigest>;
  getVaultDigest(vaultResourceId: string): Promise<VaultDigest>;
  getKey(keyId: string): Promise<KeyDigest>;
  checkKmsPermissions(input: {
    vaultResourceId: string;
    principalId: string;
    enableRbacAuthorization: boolean;
    accessPolicyCryptoPrincipals: string[];
  }): Promise<PermissionReport>;
  countSecrets(clusterId: string): Promise<number>;
  nextUpgradeHop(input: { clusterId: string; targetVersion: string }): Promise<string | undefined>;
  readKeyLedger(clusterId: string): Promise<LedgerView>;
  readEstate(request: EstateRequest): Promise<EstateSnapshot>;
}

export interface PreflightOptions {
  /** Subscriptions the worker always counts in the estate (KMSFLOW_ESTATE_SUBSCRIPTIONS). */
  estateSubscriptions?: readonly string[];
  /** A procedure's rules by name: only for the per-procedure activities of runs started before `preflight`. */
  procedureRules?: (procedure: string) => readonly RuleCode[] | undefined;
}

/** Key Vault's refusal of the caller's network (public access disabled, or a firewall): not a missing role. */
const UNREACHABLE = /Client address is not authorized|ForbiddenByFirewall|Public network access is disabled/i;

/** A read's outcome, keeping the failures a rule can name; anything else (transient, unexpected) is thrown. */
async function readOf<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { value: await read() };
  } catch (err) {
    const c = classifyError(err);
    const kind: ReadProblemKind | undefined =
      c.code === 'InvalidAuthenticationTokenTenant'
        ? 'foreign-tenant'
        : UNREACHABLE.test(c.message)
          ? 'unreachable'
          : c.type === ErrorType.notFound
            ? 'not-found'
            : c.type === ErrorType.permission
              ? 'forbidden'
              : undefined;
    if (!kind) throw err;
    return { problem: { kind, message: c.message } };
  }
}

function unique(ids: (string | undefined)[]): string[] {
  const seen = new Map<string, string>();
  for (const id of ids) if (id) seen.set(id.replace(/\/+$/, '').toLowerCase(), id.replace(/\/+$/, ''));
  return [...seen.values()];
}

const IDENTITY_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+)$/i;

export function createPreflightActivities(
  clients: ClientFactory,
  reads: PreflightReads,
  options: PreflightOptions = {},
) {
  /** The vault named `vaultName` in the subscriptions in scope (vault names are globally unique). */
  async function findVaultId(subscriptions: string[], vaultName: string): Promise<string | undefined> {
    for (const subscriptionId of subscriptions) {
      const found = await mapErrors(`Look up key vault ${vaultName}`, async () => {
        for await (const vault of clients.keyVaultManagement(subscriptionId).vaults.listBySubscription()) {
          if (vault.name?.toLowerCase() === vaultName.toLowerCase()) return vaultDigestOf(vault).id;
        }
        return undefined;
      });
      if (found) return found;
    }
    return undefined;
  }

  async function identityTenant(identityResourceId: string): Promise<string | undefined> {
    const m = IDENTITY_ID.exec(identityResourceId);
    if (!m) return undefined;
    const identity = await mapErrors(`Read managed identity ${m[3]}`, () =>
      clients.msi(m[1]!).userAssignedIdentities.get(m[2]!, m[3]!),
    );
    return identity.tenantId;
  }

  async function readVaultFacts(facts: PreflightFacts, subscriptions: string[]): Promise<void> {
    const { input, cluster } = facts;
    const subjectKey = subjectKeyId(facts);
    const armVault =
      subjectKey && cluster.kms.keyId && sameVault(subjectKey, cluster.kms.keyId)
        ? cluster.kms.vaultResourceId
        : undefined;
    let vaultId = input.vaultResourceId ?? armVault;
    if (!vaultId && subjectKey) {
      const { vaultName } = parseKeyId(subjectKey);
      vaultId = await findVaultId(subscriptions, vaultName);
      if (!vaultId) facts.vaultNotFound = { vaultName, subscriptions };
    }
    if (!vaultId) return;
    const read = await readOf(() => reads.getVaultDigest(vaultId));
    facts.vault = { id: vaultId, read };
    if (!('value' in read)) return;
    const identity = cluster.identity.userAssigned[0];
    if (!identity || !/userassigned/i.test(cluster.identity.type)) return;
    facts.identityTenant = await readOf(() => identityTenant(identity.id));
    if (identity.principalId)
      facts.permissions = await permissionsOn(vaultId, read.value, identity.principalId);
  }

  /** How the cluster identity may use a vault's keys (role or access policy), read once per vault involved. */
  function permissionsOn(vaultResourceId: string, vault: VaultDigest, principalId: string) {
    return reads.checkKmsPermissions({
      vaultResourceId,
      principalId,
      enableRbacAuthorization: vault.enableRbacAuthorization,
      accessPolicyCryptoPrincipals: vault.accessPolicyCryptoPrincipals,
    });
  }

  /** The vault a rotation to another vault leaves: Secrets stay under its key until the re-encryption is proven. */
  async function readLeavingVault(facts: PreflightFacts, subscriptions: string[]): Promise<void> {
    const { input, cluster } = facts;
    const from = cluster.kms.keyId;
    if (!from || !input.keyId || sameVault(from, input.keyId)) return;
    const { vaultName } = parseKeyId(from);
    const id = cluster.kms.vaultResourceId ?? (await findVaultId(subscriptions, vaultName));
    if (!id) {
      facts.leavingVault = { vaultName };
      return;
    }
    const read = await readOf(() => reads.getVaultDigest(id));
    const principalId = cluster.identity.userAssigned[0]?.principalId;
    facts.leavingVault = {
      vaultName,
      id,
      read,
      ...('value' in read && principalId
        ? { permissions: await permissionsOn(id, read.value, principalId) }
        : {}),
    };
  }

  async function readFacts(request: PreflightRequest): Promise<PreflightFacts> {
    const { procedure: _procedure, rules, ...input } = request;
    const needs = needsOf(rules);
    const cluster = await reads.getClusterDigest(input.clusterId);
    const ledger = await reads.readKeyLedger(input.clusterId);
    const facts: PreflightFacts = { input, now: new Date().toISOString(), cluster, ledger, keys: [] };
    const subscriptions = estateSubscriptions(
      input.clusterId,
      input.estate?.subscriptions,
      options.estateSubscriptions,
    );
    if (needs.has('keys')) {
      const ids = unique([
        input.keyId,
        ...(input.newKeyIds ?? []),
        input.retiresKeyId,
        cluster.kms.enabled ? cluster.kms.keyId : undefined,
        ...ledger.stillNeeded,
      ]);
      facts.keys = await Promise.all(
        ids.map(async (keyId) => ({ keyId, read: await readOf(() => reads.getKey(keyId)) })),
      );
    }
    if (needs.has('vault')) await readVaultFacts(facts, subscriptions);
    if (needs.has('leaving-vault')) await readLeavingVault(facts, subscriptions);
    const v1Involved = !usesKmsV2(cluster.kubernetesVersion) && (cluster.kms.enabled || !!input.keyId);
    if (needs.has('secret-count') && (v1Involved || input.targetVersion))
      facts.secretCount = await reads.countSecrets(input.clusterId);
    if (needs.has('upgrade') && input.targetVersion && !targetProblem(facts)) {
      try {
        const hop = await reads.nextUpgradeHop({
          clusterId: input.clusterId,
          targetVersion: input.targetVersion,
        });
        facts.upgrade = { hop, hops: upgradeHops(cluster.kubernetesVersion, input.targetVersion).length };
      } catch (err) {
        facts.upgrade = { problem: classifyError(err).message };
      }
    }
    if (needs.has('estate')) {
      const vaultSubscription = facts.vault?.id.split('/')[2];
      facts.estate = await reads.readEstate({
        clusterId: input.clusterId,
        subscriptions: [...subscriptions, ...(vaultSubscription ? [vaultSubscription] : [])],
        withSlots: needs.has('estate-slots'),
      });
    }
    return facts;
  }

  /** Reads the facts and judges them by the rules the procedure's definition lists. */
  async function preflight(request: PreflightRequest): Promise<PreflightReport> {
    const facts = await readFacts(request);
    const findings = evaluateRules(request.rules, facts);
    const overridden = overridesOf(request);
    const key = request.keyId ? valueOf(keyRead(facts, request.keyId)) : undefined;
    return {
      procedure: request.procedure,
      cluster: facts.cluster,
      ...(facts.vault && 'value' in facts.vault.read ? { vault: facts.vault.read.value } : {}),
      ...(key ? { key } : {}),
      ...(facts.permissions ? { permissions: facts.permissions } : {}),
      ...(facts.secretCount !== undefined ? { secretCount: facts.secretCount } : {}),
      findings,
      ...(overridden.length > 0 ? { overridden } : {}),
      ok: !findings.some((f) => f.severity === 'error'),
    };
  }

  /** The activities of runs started before `preflight` took the rules with its input (one per procedure). */
  const legacy = Object.fromEntries(
    LEGACY_PREFLIGHT_PROCEDURES.map((procedure) => [
      preflightActivityName(procedure),
      (input: PreflightInput) => {
        const rules = options.procedureRules?.(procedure);
        if (!rules) throw new Error(`the worker knows no preflight rules for ${procedure}`);
        return preflight({ ...input, procedure, rules });
      },
    ]),
  ) as Record<LegacyPreflightActivityName, (input: PreflightInput) => Promise<PreflightReport>>;

  return { preflight, ...legacy };
}

/** What the operator vouched for, in words for the ledger and the evidence. */
function overridesOf(request: PreflightRequest): string[] {
  const estate = request.estate;
  return [
    ...(estate?.assumeUnused ?? []).map((c) => `assume-unused ${c}`),
    ...(estate?.acceptUnverified ? ['accept-unverified'] : []),
  ];
}
