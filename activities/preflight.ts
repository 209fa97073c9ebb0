/**
 * Preflight: every documented limit of AKS KMS checked before a procedure changes anything. Each finding
 * names its fix in one sentence. An `error` finding stops the procedure; nothing has been changed then.
 */
import {
  parseClusterId,
  parseKeyId,
  parseVaultId,
  sameKeyId,
  sameVault,
  upgradeHops,
  usesKmsV2,
  minorVersion,
} from '../model/ids';
import type { ClientFactory } from './clients';
import type { ClusterDigest, NetworkAccess } from '../model/cluster-model';
import { classifyError, ErrorType, mapErrors } from './errors';
import type { KeyDigest, VaultDigest } from './keyvault';
import { vaultDigestOf } from './keyvault';
import type { PermissionReport } from './permissions';
import type { LedgerView } from '../model/ledger-model';
import type { PreflightActivityName } from '../model/preflight-names';
import type { ProcedureName } from '../workflows/procedures';

export type { ProcedureName };

/** One preflight activity per procedure, named after it; the type fails to compile until a new procedure has its own. */
type PreflightActivities = {
  [N in ProcedureName as PreflightActivityName<N>]: (input: PreflightInput) => Promise<PreflightReport>;
};

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  fix?: string;
}

export interface PreflightInput {
  clusterId: string;
  /** The versioned key the procedure enables or rotates to. */
  keyId?: string;
  /** The mode the procedure leaves KMS in (enable, switch, migrate). */
  networkAccess?: NetworkAccess;
  vaultResourceId?: string;
  /** migrate-to-kms-v2: the Kubernetes version to reach (≥ 1.27). */
  targetVersion?: string;
  /** A key expiring within this many days is a warning (default 30). */
  keyValidityDays?: number;
  /** retire-key: the two versions to rotate through, when the operator gave them. */
  newKeyIds?: string[];
}

export interface PreflightReport {
  procedure: ProcedureName;
  cluster: ClusterDigest;
  vault?: VaultDigest;
  key?: KeyDigest;
  permissions?: PermissionReport;
  secretCount?: number;
  findings: Finding[];
  /** True when no finding is an error. */
  ok: boolean;
}

export const KMS_V1_SECRET_LIMIT = 2000;

/** The activities preflight needs, so it reuses the same reads the procedures use. */
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
}

type AddFinding = (severity: Finding['severity'], code: string, message: string, fix?: string) => void;

/** Key Vault's refusal of the caller's network (public access disabled, or a firewall): not a missing role. */
const unreachable = (message: string) =>
  /Client address is not authorized|ForbiddenByFirewall|Public network access is disabled/i.test(message);

function addUnreachable(keyId: string, add: AddFinding): void {
  const { vaultName } = parseKeyId(keyId);
  add(
    'error',
    'VaultUnreachable',
    `kmsflow's worker cannot reach key vault ${vaultName}: the vault's network rules (public access disabled, or a firewall) refuse the worker's address, so it can neither check ${keyId} nor create key versions.`,
    `Run the worker where it reaches the vault: inside the VNet, through the vault's private endpoint (docs/deploy.md), or from an address the vault's firewall allows; then start again.`,
  );
}

export function createPreflightActivities(clients: ClientFactory, reads: PreflightReads) {
  /** Finds the vault of a key by its (globally unique) name when the caller gave no vault resource id. */
  async function findVaultId(clusterId: string, vaultName: string): Promise<string | undefined> {
    const { subscriptionId } = parseClusterId(clusterId);
    return mapErrors(`Look up key vault ${vaultName}`, async () => {
      for await (const vault of clients.keyVaultManagement(subscriptionId).vaults.listBySubscription()) {
        if (vault.name?.toLowerCase() === vaultName.toLowerCase()) return vaultDigestOf(vault).id;
      }
      return undefined;
    });
  }

  async function identityTenant(identityResourceId: string): Promise<string | undefined> {
    const m =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+)$/i.exec(
        identityResourceId,
      );
    if (!m) return undefined;
    const identity = await mapErrors(`Read managed identity ${m[3]}`, () =>
      clients.msi(m[1]!).userAssignedIdentities.get(m[2]!, m[3]!),
    );
    return identity.tenantId;
  }

  /** The vault, or undefined after adding the finding that says why it cannot be read. */
  async function readVault(
    vaultId: string,
    add: (severity: Finding['severity'], code: string, message: string, fix?: string) => void,
  ): Promise<VaultDigest | undefined> {
    const { name } = parseVaultId(vaultId);
    try {
      return await reads.getVaultDigest(vaultId);
    } catch (err) {
      const c = classifyError(err);
      if (c.code === 'InvalidAuthenticationTokenTenant') {
        add(
          'error',
          'ForeignTenantVault',
          `Key vault ${name} belongs to another tenant than the cluster's (${c.message})`,
          "Use a vault in the cluster identity's tenant.",
        );
      } else if (c.type === ErrorType.notFound) {
        add(
          'error',
          'VaultNotFound',
          `Key vault ${vaultId} does not exist.`,
          `Check the vault resource id (az keyvault show --name ${name} --query id -o tsv); a vault deleted less than its retention period ago can be recovered (az keyvault recover --name ${name}).`,
        );
      } else if (c.type === ErrorType.permission) {
        add(
          'error',
          'VaultUnreadable',
          `kmsflow cannot read key vault ${name}: ${c.message}`,
          "Grant the worker's identity Reader on the vault (see docs/permissions.md).",
        );
      } else throw err;
      return undefined;
    }
  }

  /** A key the procedure will switch AKS to: an RSA key, enabled, unexpired, readable by the worker. */
  /** `firewallChecked`: the vault's network rules are checked as a finding of their own (Public mode). */
  async function checkTargetKey(
    keyId: string,
    windowDays: number,
    firewallChecked: boolean,
    add: AddFinding,
  ): Promise<KeyDigest | undefined> {
    const keyRef = parseKeyId(keyId);
    try {
      const key = await reads.getKey(keyId);
      if (!/^RSA(-HSM)?$/i.test(key.keyType)) {
        add(
          'error',
          'KeyNotRsa',
          `Key ${key.name} is ${key.keyType}; AKS KMS needs an RSA key.`,
          `Create an RSA key: az keyvault key create --vault-name ${keyRef.vaultName} --name <name> --kty RSA --size 2048.`,
        );
      }
      if (!key.enabled) {
        add(
          'error',
          'KeyDisabled',
          `Key version ${key.version} is disabled.`,
          `Enable it (az keyvault key set-attributes --vault-name ${keyRef.vaultName} --name ${key.name} --version ${key.version} --enabled true) or choose another version.`,
        );
      }
      if (key.expiresOn) {
        const msLeft = Date.parse(key.expiresOn) - Date.now();
        if (msLeft <= 0) {
          add(
            'error',
            'KeyExpired',
            `Key version ${key.version} expired on ${key.expiresOn}.`,
            'Choose a valid version or extend its expiry (az keyvault key set-attributes --expires).',
          );
        } else if (msLeft < windowDays * 86_400_000) {
          add(
            'warning',
            'KeyExpiringSoon',
            `Key version ${key.version} expires on ${key.expiresOn}, within ${windowDays} days; Secrets become unreadable when it expires.`,
            'Extend its expiry or rotate to a version with a longer life.',
          );
        }
      }
      return key;
    } catch (err) {
      const c = classifyError(err);
      if (c.type === ErrorType.notFound) {
        add(
          'error',
          'KeyNotFound',
          `Key ${keyId} does not exist.`,
          `Check the key id (az keyvault key show --id <id>); a key deleted less than its retention period ago can be recovered (az keyvault key recover --vault-name ${keyRef.vaultName} --name ${keyRef.name}).`,
        );
      } else if (unreachable(c.message)) {
        // In Public mode the vault's network rules are the finding itself (PublicModeWithFirewall): they
        // block AKS as they block the worker. In Private mode, and for retire, the worker needs its own path.
        if (!firewallChecked) addUnreachable(keyId, add);
      } else if (c.type === ErrorType.permission) {
        add(
          'warning',
          'KeyUnreadable',
          `kmsflow cannot read key ${keyId}: ${c.message}`,
          "Grant the worker's identity 'Key Vault Crypto User' (or Reader on keys) on the vault so preflight can check the key.",
        );
      } else throw err;
      return undefined;
    }
  }

  /** What happens when a needed key stops working (the article: the API server stops working, L32). */
  const NEEDED_KEY_BROKEN =
    "AKS's KMS plugin fails its health check on it, and once the API server restarts it cannot read Secrets stored under it.";

  /** Why kmsflow holds a key as needed, in the words of a finding. */
  function whyNeeded(ledger: LedgerView, keyId: string, inUse: string | undefined): string {
    if (sameKeyId(keyId, inUse)) return 'the key in use (ARM)';
    const slot = sameKeyId(keyId, ledger.slots.current)
      ? 'current'
      : sameKeyId(keyId, ledger.slots.previous)
        ? 'previous'
        : undefined;
    if (slot)
      return `in AKS's ${slot} key slot (kmsflow key ledger), which the KMS plugin keeps using even with KMS off`;
    return 'a key Secrets may still be stored under (kmsflow key ledger)';
  }

  /** Every key still needed for reading Secrets must be enabled, unexpired and not expiring within the window. */
  async function checkNeededKeys(
    input: PreflightInput,
    inUse: string | undefined,
    add: AddFinding,
  ): Promise<void> {
    const ledger = await reads.readKeyLedger(input.clusterId);
    const needed = [
      ...new Set([...(inUse ? [inUse] : []), ...ledger.stillNeeded].map((k) => k.replace(/\/+$/, ''))),
    ].filter((k) => !sameKeyId(k, input.keyId));
    const windowDays = input.keyValidityDays ?? 30;
    for (const keyId of needed) {
      const why = whyNeeded(ledger, keyId, inUse);
      const { vaultName, name, version } = parseKeyId(keyId);
      let key: KeyDigest;
      try {
        key = await reads.getKey(keyId);
      } catch (err) {
        const c = classifyError(err);
        if (c.type === ErrorType.notFound) {
          add(
            'error',
            'NeededKeyMissing',
            `${keyId}, ${why}, does not exist: ${NEEDED_KEY_BROKEN}`,
            `Recover it while it is soft-deleted (az keyvault key recover --vault-name ${vaultName} --name ${name}), then start again.`,
          );
        } else if (unreachable(c.message)) {
          // Only the API server's KMS plugin needs this key; the worker merely cannot check it from where it runs.
          add(
            'warning',
            'KeyUnreadable',
            `kmsflow cannot check ${keyId}, ${why}: the vault's network rules refuse the worker's address.`,
            'Run the worker inside the VNet (through the private endpoint) to have it checked, or check it there yourself.',
          );
        } else if (c.type === ErrorType.permission) {
          add(
            'warning',
            'KeyUnreadable',
            `kmsflow cannot read ${keyId}, ${why}: ${c.message}`,
            "Grant the worker's identity 'Key Vault Crypto User' (or Reader on keys) on the vault so preflight can check the key.",
          );
        } else throw err;
        continue;
      }
      const fixIt = `az keyvault key set-attributes --vault-name ${vaultName} --name ${name} --version ${version}`;
      if (!key.enabled) {
        add(
          'error',
          'NeededKeyDisabled',
          `${keyId}, ${why}, is disabled: ${NEEDED_KEY_BROKEN}`,
          `Enable it until every Secret is proven re-encrypted away from it (${fixIt} --enabled true).`,
        );
      } else if (key.expiresOn && Date.parse(key.expiresOn) <= Date.now()) {
        add(
          'error',
          'NeededKeyExpired',
          `${keyId}, ${why}, expired on ${key.expiresOn}: ${NEEDED_KEY_BROKEN}`,
          `Extend its expiry (${fixIt} --expires <date>).`,
        );
      } else if (key.expiresOn && Date.parse(key.expiresOn) - Date.now() < windowDays * 86_400_000) {
        add(
          'warning',
          'NeededKeyExpiringSoon',
          `${keyId}, ${why}, expires on ${key.expiresOn}, within ${windowDays} days: it must stay valid until every Secret is re-encrypted away from it and the next rotation is done.`,
          `Extend its expiry (${fixIt} --expires <date>).`,
        );
      }
    }
  }

  async function runPreflight(procedure: ProcedureName, input: PreflightInput): Promise<PreflightReport> {
    const findings: Finding[] = [];
    const add = (severity: Finding['severity'], code: string, message: string, fix?: string) =>
      findings.push({ severity, code, message, ...(fix ? { fix } : {}) });
    const ref = parseClusterId(input.clusterId);
    const az = `-g ${ref.resourceGroup} -n ${ref.name}`;
    const cluster = await reads.getClusterDigest(input.clusterId);
    const report: PreflightReport = { procedure, cluster, findings, ok: false };

    // The cluster itself.
    const state = cluster.provisioningState.toLowerCase();
    if (state === 'failed') {
      add(
        'error',
        'ClusterFailed',
        `Cluster ${ref.name} is in state Failed${cluster.provisioningError ? `: ${cluster.provisioningError.message}` : ''}.`,
        `Reconcile it first (az aks update ${az}) until its provisioning state is Succeeded.`,
      );
    } else if (state !== 'succeeded') {
      add(
        'error',
        'OperationInProgress',
        `Cluster ${ref.name} is ${cluster.provisioningState}: another operation is running.`,
        'Wait for it to finish (az aks wait --updated), then start again.',
      );
    }
    if (cluster.powerState.toLowerCase() === 'stopped') {
      add(
        'error',
        'ClusterStopped',
        `Cluster ${ref.name} is stopped: no API server answers, so nothing could be re-encrypted or checked.`,
        `Start it (az aks start ${az}), then start the procedure again.`,
      );
    }
    // The article: scaling node pools to zero through the VMSS API (not through AKS) can leave a KMS cluster
    // unrecoverable. AKS's own count is what kmsflow can read; say what a zero means.
    for (const pool of cluster.nodePools.filter((p) => p.count === 0)) {
      add(
        'warning',
        'NodePoolAtZero',
        `Node pool ${pool.name} has 0 nodes. With KMS on, node pools must never be scaled to zero through the VMSS API (the cluster may not recover).`,
        `Scale through AKS only (az aks nodepool scale ${az} --name ${pool.name} --node-count <n>); see docs/procedures.md.`,
      );
    }
    const userAssigned = cluster.identity.userAssigned[0];
    if (!/userassigned/i.test(cluster.identity.type) || !userAssigned) {
      add(
        'error',
        'SystemAssignedIdentity',
        `Cluster ${ref.name} uses a ${cluster.identity.type} identity; KMS supports only a user-assigned identity.`,
        `Switch to one: az aks update ${az} --enable-managed-identity --assign-identity <user-assigned identity resource id>.`,
      );
    }

    // What the procedure asks for, against the current KMS state.
    const kms = cluster.kms;
    const wantsKey =
      procedure === 'enable-kms' ||
      procedure === 'rotate-key' ||
      procedure === 'switch-vault-mode' ||
      procedure === 'migrate-to-kms-v2';
    const mode: NetworkAccess = input.networkAccess ?? kms.networkAccess ?? 'Public';
    if (procedure === 'enable-kms' && kms.enabled) {
      if (sameKeyId(kms.keyId, input.keyId) && kms.networkAccess === mode) {
        add(
          'info',
          'AlreadyEnabled',
          `KMS is already enabled with this key in ${mode} mode; the procedure only re-encrypts and verifies.`,
        );
      } else if (kms.networkAccess && kms.networkAccess !== mode) {
        add(
          'error',
          'ModeChangeWhileEnabled',
          `KMS is enabled in ${kms.networkAccess} mode; the mode cannot change while KMS is on.`,
          `Use the switch-vault-mode procedure (it disables KMS, re-encrypts, changes the vault, and enables in ${mode} mode).`,
        );
      } else {
        add(
          'error',
          'UseRotate',
          `KMS is already enabled with ${kms.keyId}; enabling with another key is a rotation.`,
          'Use the rotate-key procedure, which also re-encrypts and records the proof.',
        );
      }
    }
    if (
      (procedure === 'rotate-key' || procedure === 'retire-key' || procedure === 'switch-vault-mode') &&
      !kms.enabled
    ) {
      add(
        'error',
        'KmsNotEnabled',
        `KMS is not enabled on cluster ${ref.name}.`,
        'Use the enable-kms procedure first.',
      );
    }
    if (procedure === 'rotate-key' && sameKeyId(kms.keyId, input.keyId)) {
      // The same key again finishes a rotation whose key change landed but whose re-encryption was cancelled
      // or not proven; once kmsflow holds the proof there is nothing left to do.
      const last = (await reads.readKeyLedger(input.clusterId)).lastReencryption;
      if (last && !last.proven && sameKeyId(last.keyId, input.keyId)) {
        const run = last.runId ? `run ${last.runId}` : last.workflowId;
        const message = `The cluster already uses ${input.keyId}, and the last re-encryption under it (${run}) was cancelled, failed or not proven.`;
        add(
          'warning',
          'SameKeyUnproven',
          message,
          'Nothing to fix: this rotation changes no key; it re-encrypts every Secret under it and proves it.',
        );
      } else {
        add(
          'error',
          'SameKey',
          `The cluster already uses ${input.keyId} and every Secret is proven under it.`,
          'Create a new key version (az keyvault key rotate) and pass its versioned id.',
        );
      }
    }
    // The article (L218): moving to another vault is one update, in either mode; only the attached vault's
    // mode cannot change while KMS is on.
    const movesVault =
      procedure === 'rotate-key' && !!kms.keyId && !!input.keyId && !sameVault(kms.keyId, input.keyId);
    if (
      procedure === 'rotate-key' &&
      input.networkAccess &&
      kms.networkAccess &&
      input.networkAccess !== kms.networkAccess &&
      !movesVault
    ) {
      add(
        'error',
        'ModeChangeWhileEnabled',
        "A rotation within the vault keeps its network access mode; the attached vault's mode cannot change while KMS is on.",
        'Rotate in the current mode, use switch-vault-mode for this vault, or rotate to a key of another vault in the other mode (--mode, --vault-id).',
      );
    }
    if (movesVault) {
      const from = parseKeyId(kms.keyId!).vaultName;
      add(
        'info',
        'MovesVault',
        `The rotation moves KMS from vault ${from} (${kms.networkAccess ?? 'Public'}) to vault ${parseKeyId(input.keyId!).vaultName} (${mode}). Secrets stay under ${from}'s key until the re-encryption is proven: the cluster must keep reaching ${from}, and that key must stay enabled, until then.`,
      );
    }
    if (procedure === 'switch-vault-mode' && kms.networkAccess === mode) {
      add(
        'error',
        'SameMode',
        `KMS already runs in ${mode} mode.`,
        `Pass the other mode (${mode === 'Public' ? 'Private' : 'Public'}).`,
      );
    }
    if (procedure === 'disable-kms') {
      if (!kms.enabled)
        add(
          'info',
          'AlreadyDisabled',
          'KMS is already disabled; the procedure only re-encrypts and verifies.',
        );
      add(
        'warning',
        'PlaintextWindow',
        'After disabling KMS, Secrets are stored unencrypted in etcd (identity provider) until KMS is enabled again.',
        'Keep the key enabled: Secrets written before the switch still need it until they are re-encrypted.',
      );
    }

    // The key and its vault.
    let keyRef: ReturnType<typeof parseKeyId> | undefined;
    if (wantsKey) {
      if (!input.keyId) {
        add(
          'error',
          'KeyIdRequired',
          'This procedure needs a versioned key id.',
          'Pass --key-id https://<vault>.vault.azure.net/keys/<name>/<version>.',
        );
      } else {
        keyRef = parseKeyId(input.keyId);
        report.key = await checkTargetKey(input.keyId, input.keyValidityDays ?? 30, mode === 'Public', add);
        if (
          input.vaultResourceId &&
          mode === 'Private' &&
          parseVaultId(input.vaultResourceId).name.toLowerCase() !== keyRef.vaultName.toLowerCase()
        ) {
          add(
            'error',
            'KeyNotInVault',
            `Key ${input.keyId} is in vault ${keyRef.vaultName}, not in ${parseVaultId(input.vaultResourceId).name} (--vault-id).`,
            'Pass the resource id of the vault that holds the key, or a key of that vault.',
          );
        }
      }
    }
    // retire: the versions it rotates through must be usable keys too, and without them the worker creates
    // versions in the vault, so it must reach it.
    for (const keyId of input.newKeyIds ?? [])
      await checkTargetKey(keyId, input.keyValidityDays ?? 30, false, add);
    if (procedure === 'retire-key' && !input.newKeyIds?.length && kms.keyId) {
      await reads.getKey(kms.keyId).catch((err: unknown) => {
        if (!unreachable(classifyError(err).message)) return;
        addUnreachable(kms.keyId!, add);
      });
    }

    let vaultId = input.vaultResourceId;
    if (vaultId) parseVaultId(vaultId);
    if (mode === 'Private' && wantsKey && !input.vaultResourceId) {
      add(
        'error',
        'PrivateNeedsVaultId',
        'Private mode needs the key vault resource id.',
        'Pass --vault-id /subscriptions/…/providers/Microsoft.KeyVault/vaults/<name>.',
      );
    }
    if (!vaultId && keyRef) vaultId = await findVaultId(input.clusterId, keyRef.vaultName);
    if (!vaultId && procedure === 'switch-vault-mode') {
      add(
        'error',
        'VaultIdRequired',
        'Switching the vault mode needs the key vault resource id.',
        'Pass --vault-id /subscriptions/…/providers/Microsoft.KeyVault/vaults/<name>.',
      );
    }
    const vault = vaultId && wantsKey ? await readVault(vaultId, add) : undefined;
    if (vaultId && vault) {
      report.vault = vault;
      // The target mode's rules. A switch to Public turns the vault's public network access on itself, but
      // not its firewall: a vault left on selected networks blocks KMS the moment it is enabled in Public mode.
      const switching = procedure === 'switch-vault-mode';
      if (mode === 'Public' && vault.firewallDefaultAction === 'Deny') {
        add(
          'error',
          'PublicModeWithFirewall',
          switching
            ? `Key vault ${vault.name} has a firewall (selected networks): the switch opens its public network access, not its firewall, and KMS in Public mode needs a vault open to all networks.`
            : `Key vault ${vault.name} has a firewall (selected networks); KMS in Public mode needs a vault open to all networks.`,
          switching
            ? `Allow all networks before the switch (az keyvault update --name ${vault.name} --default-action Allow), or stay in Private mode.`
            : `Open it (az keyvault update --name ${vault.name} --public-network-access Enabled --default-action Allow) or use Private mode.`,
        );
      } else if (mode === 'Public' && vault.publicNetworkAccess === 'Disabled' && !switching) {
        add(
          'error',
          'PublicModeWithFirewall',
          `Key vault ${vault.name} has public network access disabled; KMS in Public mode needs a vault open to all networks.`,
          `Open it (az keyvault update --name ${vault.name} --public-network-access Enabled --default-action Allow) or use Private mode.`,
        );
      }
      // The article's Konnectivity exception: clusters of subscriptions that already used a private vault over
      // Konnectivity keep working (rotations included) until Kubernetes 1.30's end of community support;
      // a new Private configuration (enable, switch) needs VNet integration.
      const keepsKonnectivity =
        kms.enabled &&
        kms.networkAccess === 'Private' &&
        procedure !== 'enable-kms' &&
        procedure !== 'switch-vault-mode' &&
        !movesVault;
      if (mode === 'Private' && !cluster.apiServerVnetIntegration && keepsKonnectivity) {
        add(
          'warning',
          'KonnectivityPrivateVault',
          `Cluster ${ref.name} uses KMS with a private vault over Konnectivity: supported only where it was in use before 15 September 2024, and only until Kubernetes 1.30's end of community support.`,
          `Move to API server VNet integration before then: az aks update ${az} --enable-apiserver-vnet-integration --apiserver-subnet-id <subnet id>.`,
        );
      } else if (mode === 'Private' && !cluster.apiServerVnetIntegration) {
        add(
          'error',
          'PrivateNeedsVnetIntegration',
          'Private mode needs API server VNet integration (Konnectivity is not supported for a new private vault configuration).',
          `Enable it: az aks update ${az} --enable-apiserver-vnet-integration --apiserver-subnet-id <subnet id>.`,
        );
      }
      if (!vault.enableSoftDelete || !vault.enablePurgeProtection) {
        add(
          'warning',
          'VaultRecoverability',
          `Key vault ${vault.name} has ${!vault.enableSoftDelete ? 'soft delete' : 'purge protection'} off: a deleted key would make every Secret unreadable for good.`,
          `Turn it on: az keyvault update --name ${vault.name} --enable-purge-protection true.`,
        );
      }
      if (userAssigned) {
        const tenant = await identityTenant(userAssigned.id).catch((err: unknown) => {
          if (classifyError(err).type !== ErrorType.notFound) throw err;
          add(
            'error',
            'IdentityNotFound',
            `The cluster's user-assigned identity ${userAssigned.id.split('/').pop()} no longer exists: the KMS plugin authenticates to the vault with it, so KMS cannot work.`,
            `A deleted managed identity cannot be recovered: create one (az identity create), assign it to the cluster (az aks update ${az} --enable-managed-identity --assign-identity <its resource id>), grant it Key Vault Crypto User on the vault, then start again.`,
          );
          return undefined;
        });
        if (tenant && tenant.toLowerCase() !== vault.tenantId.toLowerCase()) {
          add(
            'error',
            'ForeignTenantVault',
            `Key vault ${vault.name} belongs to tenant ${vault.tenantId}, the cluster identity to ${tenant}; KMS does not support a vault of another tenant.`,
            "Use a vault in the cluster identity's tenant.",
          );
        }
        if (userAssigned.principalId) {
          const permissions = await reads.checkKmsPermissions({
            vaultResourceId: vaultId,
            principalId: userAssigned.principalId,
            enableRbacAuthorization: vault.enableRbacAuthorization,
            accessPolicyCryptoPrincipals: vault.accessPolicyCryptoPrincipals,
          });
          report.permissions = permissions;
          if (permissions.crypto === 'missing') {
            add(
              'error',
              'IdentityLacksCryptoPermission',
              `The cluster identity (${userAssigned.principalId}) cannot encrypt/decrypt with keys of vault ${vault.name}.`,
              vault.enableRbacAuthorization
                ? `az role assignment create --role "Key Vault Crypto User" --assignee-object-id ${userAssigned.principalId} --assignee-principal-type ServicePrincipal --scope ${vaultId}`
                : `az keyvault set-policy --name ${vault.name} --object-id ${userAssigned.principalId} --key-permissions encrypt decrypt`,
            );
          }
          if (mode === 'Private' && !permissions.contributor) {
            add(
              'error',
              'PrivateNeedsContributor',
              `Private mode needs the cluster identity to hold Key Vault Contributor on vault ${vault.name} (for the private link).`,
              `az role assignment create --role "Key Vault Contributor" --assignee-object-id ${userAssigned.principalId} --assignee-principal-type ServicePrincipal --scope ${vaultId}`,
            );
          }
        }
      }
    } else if (wantsKey && keyRef && !vaultId) {
      add(
        'warning',
        'VaultNotFound',
        `Key vault ${keyRef.vaultName} is not in subscription ${ref.subscriptionId}; its firewall and permissions were not checked.`,
        'Pass --vault-id so preflight can check the vault.',
      );
    }

    // The keys Secrets are still stored under (the article: the outgoing key must stay valid until the next
    // rotation). ARM names the key in use; only kmsflow's ledger knows the previous slot and keys whose
    // Secrets were never proven re-encrypted away.
    await checkNeededKeys(input, kms.enabled ? kms.keyId : undefined, add);

    // Versions and the KMS v1 Secret limit.
    const v2 = usesKmsV2(cluster.kubernetesVersion);
    if (procedure === 'migrate-to-kms-v2') {
      if (v2)
        add(
          'info',
          'AlreadyKmsV2',
          `Cluster ${ref.name} runs ${cluster.kubernetesVersion}: KMS v2 already applies.`,
        );
      if (!input.targetVersion) {
        add(
          'error',
          'TargetVersionRequired',
          'The migration needs a target Kubernetes version ≥ 1.27.',
          'Pass --target-version, e.g. 1.29 (az aks get-upgrades lists what is reachable).',
        );
      } else if (!usesKmsV2(input.targetVersion)) {
        add(
          'error',
          'TargetBelowKmsV2',
          `Target version ${input.targetVersion} is below 1.27, where KMS v2 starts.`,
          'Choose a target version of 1.27 or later.',
        );
      } else if (minorVersion(input.targetVersion)[1] < minorVersion(cluster.kubernetesVersion)[1]) {
        add(
          'error',
          'TargetVersionTooOld',
          `Target version ${input.targetVersion} is older than the cluster's ${cluster.kubernetesVersion}.`,
          `Choose a target version ≥ ${cluster.kubernetesVersion}.`,
        );
      } else {
        try {
          const hop = await reads.nextUpgradeHop({
            clusterId: input.clusterId,
            targetVersion: input.targetVersion,
          });
          const hops = upgradeHops(cluster.kubernetesVersion, input.targetVersion).length;
          add(
            'info',
            'UpgradePath',
            hop
              ? `The upgrade goes one minor version at a time: ${hops} hop(s), first to ${hop}.`
              : 'No upgrade is needed.',
          );
        } catch (err) {
          const c = classifyError(err);
          add(
            'error',
            'NoUpgradePath',
            c.message,
            'Check az aks get-upgrades and choose a reachable target version.',
          );
        }
      }
    }
    const v1Involved = !v2 && (kms.enabled || procedure === 'enable-kms');
    if (v1Involved || procedure === 'migrate-to-kms-v2') {
      report.secretCount = await reads.countSecrets(input.clusterId);
      const over = !v2 && report.secretCount > KMS_V1_SECRET_LIMIT;
      const message = `Cluster ${ref.name} holds ${report.secretCount} Secrets; KMS v1 (Kubernetes < 1.27) supports at most ${KMS_V1_SECRET_LIMIT}.`;
      if (over && (procedure === 'migrate-to-kms-v2' || procedure === 'disable-kms')) {
        // Leaving KMS v1 is the remedy, so it must stay possible; the re-encryption under v1 is still paced.
        add(
          'warning',
          'KmsV1SecretLimit',
          `${message} Moving off KMS v1 removes the limit.`,
          'Expect the re-encryption off KMS v1 to be slower; nothing else is needed.',
        );
      } else if (over) {
        add(
          'error',
          'KmsV1SecretLimit',
          message,
          `Remove unused Secrets until at most ${KMS_V1_SECRET_LIMIT} remain, or upgrade the cluster to 1.27+ (migrate-to-kms-v2) first.`,
        );
      }
    }

    report.ok = !findings.some((f) => f.severity === 'error');
    return report;
  }

  const preflightFor = (procedure: ProcedureName) => (input: PreflightInput) =>
    runPreflight(procedure, input);
  const activities: PreflightActivities = {
    preflightEnableKms: preflightFor('enable-kms'),
    preflightDisableKms: preflightFor('disable-kms'),
    preflightRotateKey: preflightFor('rotate-key'),
    preflightRetireKey: preflightFor('retire-key'),
    preflightSwitchVaultMode: preflightFor('switch-vault-mode'),
    preflightMigrateToKmsV2: preflightFor('migrate-to-kms-v2'),
  };
  return activities;
}
