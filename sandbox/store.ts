/**
 * The Azure side's state: subscriptions, resource groups, managed clusters, operations, vaults with their
 * keys, user-assigned identities, directory principals and role assignments. Plain JSON-serialisable
 * records (persistence writes `AzureState` as is); behaviour lives in the service modules.
 */
import { randomUUID } from 'node:crypto';

export interface ResourceGroupRecord {
  name: string;
  location: string;
}

export interface SubscriptionRecord {
  subscriptionId: string;
  tenantId: string;
  displayName: string;
  resourceGroups: Record<string, ResourceGroupRecord>;
  /** An Azure Policy assignment of "Key Vault keys should have an expiration date" (Deny) on the subscription. */
  requireKeyExpiry?: boolean;
}

/** A user or service principal of the directory (role assignments and tokens name its object id). */
export interface DirectoryPrincipal {
  name: string;
  objectId: string;
  tenantId: string;
  clientId: string;
  type: 'User' | 'ServicePrincipal';
}

export interface AzureKeyVaultKms {
  enabled?: boolean;
  keyId?: string;
  keyVaultNetworkAccess?: string;
  keyVaultResourceId?: string;
}

/** How a key slot's plugin reaches its vault: over the internet (Public) or the vault's private link (Private). */
export interface KmsSlotPath {
  networkAccess: 'Public' | 'Private';
  /** The vault the private link was made to (Private only). */
  vaultResourceId?: string;
}

export type ProvisioningState =
  'Creating' | 'Updating' | 'Upgrading' | 'Succeeded' | 'Failed' | 'Canceled' | 'Deleting';

export interface AgentPoolState {
  currentOrchestratorVersion: string;
  provisioningState: ProvisioningState;
}

export interface ClusterRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  /** `maintenanceConfigurations` by name: their wire `properties` as last PUT. */
  maintenanceConfigurations?: Record<string, Record<string, unknown>>;
  sku?: unknown;
  /** Wire `identity` as last PUT, read-only fields stripped. */
  identity?: { type?: string; userAssignedIdentities?: Record<string, unknown> };
  /** Wire `properties` as last PUT (the goal state), read-only fields stripped. */
  properties: Record<string, unknown>;
  eTag: string;
  provisioningState: ProvisioningState;
  provisioningError?: { code: string; message: string };
  currentKubernetesVersion: string;
  agentPools: Record<string, AgentPoolState>;
  /** The KMS configuration in effect (applied by the last successful operation). */
  appliedKms?: AzureKeyVaultKms;
  /** The two key slots AKS holds: the current key and the one before it. */
  keySlots: { current?: string; previous?: string };
  /**
   * The network path each slot's plugin was configured with when its key entered the slot (a slot keeps it
   * until its key leaves). Absent in state saved before slots had their own path: the cluster's mode then.
   */
  slotPaths?: { current?: KmsSlotPath; previous?: KmsSlotPath };
  activeOperationId?: string;
  /** `az aks stop` leaves a cluster Stopped: no control plane, no nodes (default Running). */
  powerState?: 'Running' | 'Stopped';
  /** Bearer tokens of the emulated API server. */
  tokens: { user: string; admin: string };
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export interface OperationRecord {
  id: string;
  subscriptionId: string;
  location: string;
  clusterName: string;
  resourceGroup: string;
  /** Shown in the 409 message: the cluster or the agent pool being changed. */
  resourceLabel: string;
  status: OperationStatus;
  startTime: string;
  endTime?: string;
  /** Epoch ms when the operation finishes. */
  completesAt: number;
  /** Set when a fault decided up front that this operation fails. */
  plannedFailure?: { code: string; message: string };
  error?: { code: string; message: string };
  targetKubernetesVersion: string;
  targetPoolVersions: Record<string, string>;
  targetKms?: AzureKeyVaultKms;
  kind: 'create' | 'update' | 'upgrade';
}

export interface KeyVersionRecord {
  version: string;
  kty: 'RSA' | 'EC' | 'RSA-HSM' | 'EC-HSM';
  keySize?: number;
  crv?: string;
  keyOps: string[];
  enabled: boolean;
  /** Unix seconds. */
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  tags?: Record<string, string>;
  /** PKCS#8 PEM of the private key (never served). */
  privateKeyPem: string;
}

/** A key's rotation policy as set with PUT /keys/<name>/rotationpolicy (durations are ISO 8601). */
export interface KeyRotationPolicyRecord {
  lifetimeActions: {
    trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string };
    action: { type: 'Rotate' | 'Notify' };
  }[];
  /** The validity of each version the rotation creates, e.g. `P90D`. */
  expiryTime?: string;
  /** Unix seconds. */
  created: number;
  updated: number;
}

export interface KeyRecord {
  name: string;
  /** Oldest first; the last one is the current version. */
  versions: KeyVersionRecord[];
  /** Set explicitly; absent means Key Vault's default (notify 30 days before expiry, no expiry for new versions). */
  rotationPolicy?: KeyRotationPolicyRecord;
}

export interface VaultRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  /** Wire `properties` (tenantId, sku, enableRbacAuthorization, publicNetworkAccess, networkAcls, ...). */
  properties: Record<string, unknown>;
  keys: Record<string, KeyRecord>;
  /** An Azure Policy assignment of "Key Vault keys should have an expiration date" (Deny) on the vault. */
  requireKeyExpiry?: boolean;
  /** Soft-deleted keys (`az keyvault key delete`), recoverable until purged. */
  deletedKeys?: Record<string, KeyRecord & { deletedDate: number }>;
}

export interface IdentityRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  tenantId: string;
  principalId: string;
  clientId: string;
}

export interface RoleAssignmentRecord {
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  description?: string;
  createdOn: string;
}

/** An Azure Kubernetes Fleet Manager fleet and its members (clusters by resource id). */
export interface FleetRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  members: { name: string; clusterResourceId: string; group?: string }[];
}

export interface AzureState {
  subscriptions: Record<string, SubscriptionRecord>;
  principals: DirectoryPrincipal[];
  clusters: ClusterRecord[];
  operations: OperationRecord[];
  vaults: VaultRecord[];
  identities: IdentityRecord[];
  roleAssignments: RoleAssignmentRecord[];
  /** Absent in state saved before fleets were emulated. */
  fleets?: FleetRecord[];
}

export function emptyAzureState(): AzureState {
  return {
    subscriptions: {},
    principals: [],
    clusters: [],
    operations: [],
    vaults: [],
    identities: [],
    roleAssignments: [],
    fleets: [],
  };
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function clusterArmId(c: Pick<ClusterRecord, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`;
}

export function vaultArmId(v: Pick<VaultRecord, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${v.subscriptionId}/resourceGroups/${v.resourceGroup}/providers/Microsoft.KeyVault/vaults/${v.name}`;
}

export function identityArmId(i: Pick<IdentityRecord, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${i.subscriptionId}/resourceGroups/${i.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${i.name}`;
}

/** The AzureState plus lookups. One instance per sandbox; every service module reads and writes through it. */
export class AzureStore {
  constructor(public state: AzureState = emptyAzureState()) {}

  subscription(subscriptionId: string): SubscriptionRecord | undefined {
    return Object.values(this.state.subscriptions).find((s) => eq(s.subscriptionId, subscriptionId));
  }

  resourceGroup(subscriptionId: string, name: string): ResourceGroupRecord | undefined {
    const sub = this.subscription(subscriptionId);
    return sub && Object.values(sub.resourceGroups).find((rg) => eq(rg.name, name));
  }

  cluster(subscriptionId: string, resourceGroup: string, name: string): ClusterRecord | undefined {
    return this.state.clusters.find(
      (c) => eq(c.subscriptionId, subscriptionId) && eq(c.resourceGroup, resourceGroup) && eq(c.name, name),
    );
  }

  clusterByName(name: string): ClusterRecord | undefined {
    return this.state.clusters.find((c) => eq(c.name, name));
  }

  operation(id: string): OperationRecord | undefined {
    return this.state.operations.find((o) => eq(o.id, id));
  }

  vault(subscriptionId: string, resourceGroup: string, name: string): VaultRecord | undefined {
    return this.state.vaults.find(
      (v) => eq(v.subscriptionId, subscriptionId) && eq(v.resourceGroup, resourceGroup) && eq(v.name, name),
    );
  }

  /** Vault names are globally unique in Azure (they are DNS names). */
  vaultByName(name: string): VaultRecord | undefined {
    return this.state.vaults.find((v) => eq(v.name, name));
  }

  vaultByArmId(id: string): VaultRecord | undefined {
    return this.state.vaults.find((v) => eq(vaultArmId(v), id.replace(/\/+$/, '')));
  }

  identity(subscriptionId: string, resourceGroup: string, name: string): IdentityRecord | undefined {
    return this.state.identities.find(
      (i) => eq(i.subscriptionId, subscriptionId) && eq(i.resourceGroup, resourceGroup) && eq(i.name, name),
    );
  }

  identityByArmId(id: string): IdentityRecord | undefined {
    return this.state.identities.find((i) => eq(identityArmId(i), id.replace(/\/+$/, '')));
  }

  principal(nameOrObjectId: string): DirectoryPrincipal | undefined {
    return this.state.principals.find((p) => eq(p.objectId, nameOrObjectId) || eq(p.name, nameOrObjectId));
  }

  /** Whether an object id exists in the directory (a principal or a managed identity's service principal). */
  principalExists(objectId: string): boolean {
    return !!this.principal(objectId) || this.state.identities.some((i) => eq(i.principalId, objectId));
  }
}

export function newETag(): string {
  return randomUUID();
}

/** A 32-hex-digit key version id, like Key Vault's. */
export function newKeyVersionId(): string {
  return randomUUID().replace(/-/g, '');
}
