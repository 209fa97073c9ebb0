/**
 * Scenario files: the Azure estate a sandbox starts with (tenants, subscriptions, resource groups,
 * principals, identities, vaults with keys and versions, role assignments, clusters with their KMS state
 * and a seeded Secret estate, faults). YAML or JSON, validated with zod. Built-in: `empty` and `demo`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { derivedGuid } from './arm/cluster-view';
import { clusterEncryption, slotPathOf, type KeySlots } from './arm/kms-encryption';
import { resolveVersion } from './arm/versions';
import type { SandboxContext } from './context';
import { faultRuleSchema } from './faults';
import { createKeyVersion, keyId as buildKeyId } from './keyvault/keys';
import { rotationPolicyFromBody } from './keyvault/rotation-policy';
import { kubeFaultsSchema, applyKubeFaults } from './kube-faults';
import { findRoleDefinition } from './rbac';
import {
  clusterArmId,
  identityArmId,
  newETag,
  vaultArmId,
  type AzureKeyVaultKms,
  type ClusterRecord,
  type DirectoryPrincipal,
  type IdentityRecord,
  type VaultRecord,
} from './store';

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');

const keyRefSchema = z.object({
  vault: z.string(),
  key: z.string(),
  /** 1-based index into the key's versions, a version id, or `latest` (default). */
  version: z.union([z.number().int().min(1), z.string()]).default('latest'),
});

const estateSchema = z.object({
  count: z.number().int().min(0),
  namespaces: z.number().int().min(1).default(8),
  seed: z.number().int().optional(),
  mix: z
    .record(z.enum(['opaque', 'tls', 'dockerconfigjson', 'service-account-token', 'helm']), z.number().min(0))
    .optional(),
  maxBytes: z.number().int().positive().optional(),
});

export const scenarioSchema = z
  .object({
    seed: z.number().int().default(1),
    tenantId: guid.optional(),
    subscriptions: z
      .array(
        z.object({
          id: guid,
          tenantId: guid.optional(),
          displayName: z.string().optional(),
          /** Azure Policy "Key Vault keys should have an expiration date" with effect Deny on the subscription. */
          requireKeyExpiry: z.boolean().default(false),
          resourceGroups: z
            .array(z.object({ name: z.string().min(1), location: z.string().default('eastus') }))
            .default([]),
        }),
      )
      .min(1, 'at least one subscription is required'),
    principals: z
      .array(
        z.object({
          name: z.string().min(1),
          objectId: guid.optional(),
          clientId: guid.optional(),
          type: z.enum(['User', 'ServicePrincipal']).default('User'),
        }),
      )
      .default([{ name: 'operator', type: 'User' }]),
    /** The principal whose identity the env file and `RunningSandbox.credential()` use. */
    operator: z.string().default('operator'),
    identities: z
      .array(
        z.object({
          name: z.string().min(1),
          resourceGroup: z.string().optional(),
          subscription: guid.optional(),
          principalId: guid.optional(),
          clientId: guid.optional(),
        }),
      )
      .default([]),
    vaults: z
      .array(
        z.object({
          name: z
            .string()
            .regex(
              /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/,
              'vault names are 3-24 characters: letters, digits, dashes',
            ),
          resourceGroup: z.string().optional(),
          subscription: guid.optional(),
          location: z.string().optional(),
          enableRbacAuthorization: z.boolean().default(true),
          publicNetworkAccess: z.enum(['Enabled', 'Disabled']).default('Enabled'),
          networkAcls: z
            .object({
              defaultAction: z.enum(['Allow', 'Deny']).default('Allow'),
              bypass: z.enum(['AzureServices', 'None']).default('AzureServices'),
              ipRules: z.array(z.string()).default([]),
            })
            .optional(),
          enableSoftDelete: z.boolean().default(true),
          softDeleteRetentionInDays: z.number().int().min(7).max(90).default(90),
          enablePurgeProtection: z.boolean().default(true),
          accessPolicies: z.array(z.object({ principal: z.string(), keys: z.array(z.string()) })).default([]),
          /** Azure Policy "Key Vault keys should have an expiration date" with effect Deny on the vault. */
          requireKeyExpiry: z.boolean().default(false),
          keys: z
            .array(
              z.object({
                name: z.string().regex(/^[0-9a-zA-Z-]+$/),
                kty: z.enum(['RSA', 'EC', 'RSA-HSM', 'EC-HSM']).default('RSA'),
                keySize: z.number().int().optional(),
                /** The key's rotation policy (`az keyvault key rotation-policy update`); durations are ISO 8601. */
                rotationPolicy: z
                  .object({
                    expiryTime: z.string().optional(),
                    lifetimeActions: z
                      .array(
                        z.object({
                          action: z.enum(['Rotate', 'Notify']),
                          timeAfterCreate: z.string().optional(),
                          timeBeforeExpiry: z.string().optional(),
                        }),
                      )
                      .default([]),
                  })
                  .optional(),
                /** A count of versions, or each version's settings (oldest first). */
                versions: z
                  .union([
                    z.number().int().min(1),
                    z.array(
                      z.object({
                        version: z
                          .string()
                          .regex(/^[0-9a-f]{32}$/i)
                          .optional(),
                        enabled: z.boolean().default(true),
                        expiresOn: z.string().datetime({ offset: true }).optional(),
                      }),
                    ),
                  ])
                  .default(1),
              }),
            )
            .default([]),
        }),
      )
      .default([]),
    roleAssignments: z
      .array(
        z.object({
          role: z.string().refine((r) => !!findRoleDefinition(r), {
            message: 'unknown role (use a built-in Key Vault role name or GUID)',
          }),
          /** A principal name, an identity name or an object id. */
          principal: z.string(),
          /** `subscription`, `resourceGroup:<rg>`, `vault:<name>`, `vault:<name>/keys/<key>`, or an ARM id. */
          scope: z.string(),
        }),
      )
      .default([]),
    clusters: z
      .array(
        z.object({
          name: z.string().regex(/^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/),
          resourceGroup: z.string().optional(),
          subscription: guid.optional(),
          location: z.string().optional(),
          tags: z.record(z.string(), z.string()).optional(),
          /** Maintenance configurations by name, their ARM `properties` (e.g. `{ default: { timeInWeek: [...] } }`). */
          maintenanceConfigurations: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
          kubernetesVersion: z.string().default('1.31'),
          /** A user-assigned identity name from `identities`, or `SystemAssigned`. */
          identity: z.string().default('SystemAssigned'),
          nodePools: z
            .array(
              z.object({
                name: z.string(),
                count: z.number().int().min(0).default(3),
                vmSize: z.string().default('Standard_D4ds_v5'),
                mode: z.enum(['System', 'User']).default('System'),
              }),
            )
            .default([{ name: 'nodepool1', count: 3, vmSize: 'Standard_D4ds_v5', mode: 'System' }]),
          apiServerVnetIntegration: z.boolean().default(false),
          /** A cluster stopped with `az aks stop`. */
          stopped: z.boolean().default(false),
          disableLocalAccounts: z.boolean().default(false),
          kms: keyRefSchema
            .extend({
              networkAccess: z.enum(['Public', 'Private']).default('Public'),
              enabled: z.boolean().default(true),
            })
            .optional(),
          /**
           * A key AKS still holds in its previous slot (a rotation happened before the scenario starts), and the
           * network path its plugin was configured with (default: the cluster's `kms.networkAccess`).
           */
          previousKey: keyRefSchema
            .extend({ networkAccess: z.enum(['Public', 'Private']).optional() })
            .optional(),
          secrets: estateSchema.optional(),
          kubeFaults: kubeFaultsSchema.optional(),
        }),
      )
      .default([]),
    /** Azure Kubernetes Fleet Manager fleets; each member names a cluster of the scenario. */
    fleets: z
      .array(
        z.object({
          name: z.string().min(1),
          resourceGroup: z.string().optional(),
          subscription: guid.optional(),
          members: z
            .array(
              z.object({ cluster: z.string(), name: z.string().optional(), group: z.string().optional() }),
            )
            .default([]),
        }),
      )
      .default([]),
    faults: z
      .object({ seed: z.number().int().default(1), rules: z.array(faultRuleSchema).default([]) })
      .optional(),
  })
  .superRefine((s, ctx) => {
    const vaultNames = new Set(s.vaults.map((v) => v.name.toLowerCase()));
    const identityNames = new Set(s.identities.map((i) => i.name));
    const principalNames = new Set(s.principals.map((p) => p.name));
    if (!principalNames.has(s.operator))
      ctx.addIssue({ code: 'custom', path: ['operator'], message: `no principal named '${s.operator}'` });
    s.clusters.forEach((c, i) => {
      if (c.identity !== 'SystemAssigned' && !identityNames.has(c.identity))
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', i, 'identity'],
          message: `no identity named '${c.identity}'`,
        });
      for (const field of ['kms', 'previousKey'] as const) {
        const ref = c[field];
        if (ref && !vaultNames.has(ref.vault.toLowerCase()))
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, field, 'vault'],
            message: `no vault named '${ref.vault}'`,
          });
      }
    });
    s.roleAssignments.forEach((a, i) => {
      if (
        !principalNames.has(a.principal) &&
        !identityNames.has(a.principal) &&
        !guid.safeParse(a.principal).success
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['roleAssignments', i, 'principal'],
          message: `no principal or identity named '${a.principal}'`,
        });
      }
    });
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export class ScenarioError extends Error {}

export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
    );
    throw new ScenarioError(`Invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Loads `demo`, `empty`, or a YAML/JSON file. */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  if (nameOrPath === 'demo') return parseScenario(DEMO_SCENARIO, 'built-in demo scenario');
  if (nameOrPath === 'empty') return parseScenario(EMPTY_SCENARIO, 'built-in empty scenario');
  const text = await readFile(nameOrPath, 'utf8');
  let raw: unknown;
  try {
    raw = nameOrPath.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ScenarioError(`Cannot parse ${nameOrPath}: ${(e as Error).message}`);
  }
  return parseScenario(raw, nameOrPath);
}

function seededHex(seed: number, label: string, length: number): string {
  return createHash('sha256').update(`${seed}:${label}`).digest('hex').slice(0, length);
}

function seededGuid(seed: number, label: string): string {
  return derivedGuid(`${seed}:${label}`);
}

/** Builds the Azure state and the emulated clusters of `scenario` into an empty sandbox context. */
export async function applyScenario(ctx: SandboxContext, scenario: Scenario): Promise<void> {
  const state = ctx.store.state;
  const seed = scenario.seed;
  const defaultTenant = scenario.tenantId ?? seededGuid(seed, 'tenant');
  for (const sub of scenario.subscriptions) {
    state.subscriptions[sub.id] = {
      subscriptionId: sub.id,
      tenantId: sub.tenantId ?? defaultTenant,
      displayName: sub.displayName ?? 'kmsflow sandbox',
      ...(sub.requireKeyExpiry ? { requireKeyExpiry: true } : {}),
      resourceGroups: Object.fromEntries(
        sub.resourceGroups.map((rg) => [rg.name, { name: rg.name, location: rg.location }]),
      ),
    };
  }
  const firstSub = scenario.subscriptions[0];
  if (!firstSub) throw new ScenarioError('a scenario needs a subscription');
  const home = (subscription?: string, resourceGroup?: string) => {
    const sub = state.subscriptions[subscription ?? firstSub.id];
    if (!sub) throw new ScenarioError(`unknown subscription ${subscription ?? ''}`);
    const rgName = resourceGroup ?? Object.keys(sub.resourceGroups)[0];
    const rg = rgName ? sub.resourceGroups[rgName] : undefined;
    if (!rg)
      throw new ScenarioError(
        `unknown resource group ${resourceGroup ?? '(none defined)'} in subscription ${sub.subscriptionId}`,
      );
    return { sub, rg };
  };

  for (const p of scenario.principals) {
    const principal: DirectoryPrincipal = {
      name: p.name,
      objectId: p.objectId ?? seededGuid(seed, `principal/${p.name}`),
      clientId: p.clientId ?? seededGuid(seed, `principal/${p.name}/client`),
      tenantId: defaultTenant,
      type: p.type,
    };
    state.principals.push(principal);
  }

  for (const i of scenario.identities) {
    const { sub, rg } = home(i.subscription, i.resourceGroup);
    const identity: IdentityRecord = {
      subscriptionId: sub.subscriptionId,
      resourceGroup: rg.name,
      name: i.name,
      location: rg.location,
      tenantId: sub.tenantId,
      principalId: i.principalId ?? seededGuid(seed, `identity/${i.name}`),
      clientId: i.clientId ?? seededGuid(seed, `identity/${i.name}/client`),
    };
    state.identities.push(identity);
  }

  const principalId = (nameOrId: string): string =>
    state.principals.find((p) => p.name === nameOrId)?.objectId ??
    state.identities.find((i) => i.name === nameOrId)?.principalId ??
    nameOrId;

  for (const v of scenario.vaults) {
    const { sub, rg } = home(v.subscription, v.resourceGroup);
    const vault: VaultRecord = {
      subscriptionId: sub.subscriptionId,
      resourceGroup: rg.name,
      name: v.name,
      location: v.location ?? rg.location,
      properties: {
        tenantId: sub.tenantId,
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: v.enableRbacAuthorization,
        publicNetworkAccess: v.publicNetworkAccess,
        ...(v.networkAcls
          ? {
              networkAcls: {
                ...v.networkAcls,
                ipRules: v.networkAcls.ipRules.map((value) => ({ value })),
                virtualNetworkRules: [],
              },
            }
          : {}),
        enableSoftDelete: v.enableSoftDelete,
        softDeleteRetentionInDays: v.softDeleteRetentionInDays,
        enablePurgeProtection: v.enablePurgeProtection,
        accessPolicies: v.accessPolicies.map((a) => ({
          tenantId: sub.tenantId,
          objectId: principalId(a.principal),
          permissions: { keys: a.keys },
        })),
      },
      keys: {},
      ...(v.requireKeyExpiry ? { requireKeyExpiry: true } : {}),
    };
    for (const k of v.keys) {
      const specs: { version?: string; enabled: boolean; expiresOn?: string }[] =
        typeof k.versions === 'number'
          ? Array.from({ length: k.versions }, () => ({ enabled: true }))
          : k.versions;
      const versions = [];
      const baseCreated = Math.floor(ctx.now() / 1000) - 86_400 * 30;
      for (const [index, spec] of specs.entries()) {
        versions.push(
          await createKeyVersion({
            kty: k.kty,
            ...(k.keySize ? { keySize: k.keySize } : {}),
            enabled: spec.enabled,
            ...(spec.expiresOn ? { exp: Math.floor(Date.parse(spec.expiresOn) / 1000) } : {}),
            version: spec.version ?? seededHex(seed, `key/${v.name}/${k.name}/${index}`, 32),
            created: baseCreated + index * 86_400,
          }),
        );
      }
      vault.keys[k.name] = { name: k.name, versions };
      if (k.rotationPolicy) {
        const body = {
          attributes: { expiryTime: k.rotationPolicy.expiryTime },
          lifetimeActions: k.rotationPolicy.lifetimeActions.map((a) => ({
            action: { type: a.action },
            trigger: { timeAfterCreate: a.timeAfterCreate, timeBeforeExpiry: a.timeBeforeExpiry },
          })),
        };
        try {
          vault.keys[k.name]!.rotationPolicy = rotationPolicyFromBody(body, undefined, baseCreated);
        } catch (e) {
          throw new ScenarioError(`vault ${v.name}, key ${k.name}: rotationPolicy: ${(e as Error).message}`);
        }
      }
    }
    state.vaults.push(vault);
  }

  const resolveScope = (scope: string): string => {
    if (scope.startsWith('/')) return scope;
    if (scope === 'subscription') return `/subscriptions/${firstSub.id}`;
    const [kind, rest = ''] = scope.split(/:(.*)/s);
    if (kind === 'resourceGroup') return `/subscriptions/${firstSub.id}/resourceGroups/${rest}`;
    if (kind === 'vault') {
      const [vaultName = '', , keyName] = rest.split('/');
      const vault = state.vaults.find((x) => x.name === vaultName);
      if (!vault) throw new ScenarioError(`role assignment scope '${scope}': no vault named '${vaultName}'`);
      return `${vaultArmId(vault)}${keyName ? `/keys/${keyName}` : ''}`;
    }
    throw new ScenarioError(`role assignment scope '${scope}' is not understood`);
  };
  scenario.roleAssignments.forEach((a, index) => {
    const role = findRoleDefinition(a.role);
    if (!role) return;
    state.roleAssignments.push({
      name: seededGuid(seed, `role-assignment/${index}`),
      scope: resolveScope(a.scope),
      roleDefinitionId: role.id,
      principalId: principalId(a.principal),
      principalType: state.principals.some((p) => p.name === a.principal && p.type === 'User')
        ? 'User'
        : 'ServicePrincipal',
      createdOn: new Date(ctx.now()).toISOString(),
    });
  });

  const keyIdOf = (ref: z.output<typeof keyRefSchema>): string => {
    const vault = state.vaults.find((x) => x.name.toLowerCase() === ref.vault.toLowerCase());
    const key = vault?.keys[ref.key];
    if (!vault || !key) throw new ScenarioError(`no key '${ref.key}' in vault '${ref.vault}'`);
    const version =
      typeof ref.version === 'number'
        ? key.versions[ref.version - 1]
        : ref.version === 'latest'
          ? key.versions[key.versions.length - 1]
          : key.versions.find((x) => x.version === ref.version);
    if (!version)
      throw new ScenarioError(`key '${ref.vault}/${ref.key}' has no version ${String(ref.version)}`);
    return buildKeyId(ctx.vaultBaseUrl(vault.name), key.name, version.version);
  };

  for (const c of scenario.clusters) {
    const { sub, rg } = home(c.subscription, c.resourceGroup);
    const location = c.location ?? rg.location;
    const version = resolveVersion(c.kubernetesVersion, location);
    const identity =
      c.identity === 'SystemAssigned' ? undefined : state.identities.find((i) => i.name === c.identity);
    const kms: AzureKeyVaultKms | undefined = c.kms && {
      enabled: c.kms.enabled,
      keyId: keyIdOf(c.kms),
      keyVaultNetworkAccess: c.kms.networkAccess,
      keyVaultResourceId:
        c.kms.networkAccess === 'Private'
          ? vaultArmId(state.vaults.find((x) => x.name.toLowerCase() === c.kms!.vault.toLowerCase())!)
          : '',
    };
    const keySlots: KeySlots = {
      ...(kms?.keyId ? { current: kms.keyId } : {}),
      ...(c.previousKey ? { previous: keyIdOf(c.previousKey) } : {}),
    };
    const slotPaths: ClusterRecord['slotPaths'] = {
      ...(kms?.keyId ? { current: slotPathOf(kms) } : {}),
      ...(c.previousKey
        ? {
            previous: slotPathOf({
              keyVaultNetworkAccess: c.previousKey.networkAccess ?? c.kms?.networkAccess ?? 'Public',
              keyVaultResourceId: vaultArmId(
                state.vaults.find((x) => x.name.toLowerCase() === c.previousKey!.vault.toLowerCase())!,
              ),
            }),
          }
        : {}),
    };
    const record: ClusterRecord = {
      subscriptionId: sub.subscriptionId,
      resourceGroup: rg.name,
      name: c.name,
      location,
      ...(c.tags ? { tags: c.tags } : {}),
      ...(c.maintenanceConfigurations ? { maintenanceConfigurations: c.maintenanceConfigurations } : {}),
      identity: identity
        ? { type: 'UserAssigned', userAssignedIdentities: { [identityArmId(identity)]: {} } }
        : { type: 'SystemAssigned' },
      properties: {
        kubernetesVersion: version,
        dnsPrefix: c.name,
        enableRBAC: true,
        disableLocalAccounts: c.disableLocalAccounts,
        agentPoolProfiles: c.nodePools.map((p) => ({
          ...p,
          orchestratorVersion: version,
          type: 'VirtualMachineScaleSets',
          osType: 'Linux',
        })),
        ...(c.apiServerVnetIntegration
          ? {
              apiServerAccessProfile: {
                enableVnetIntegration: true,
                subnetId: `/subscriptions/${sub.subscriptionId}/resourceGroups/${rg.name}/providers/Microsoft.Network/virtualNetworks/vnet-${c.name}/subnets/apiserver`,
              },
            }
          : {}),
        ...(kms ? { securityProfile: { azureKeyVaultKms: kms } } : {}),
      },
      eTag: newETag(),
      provisioningState: 'Succeeded',
      currentKubernetesVersion: version,
      agentPools: Object.fromEntries(
        c.nodePools.map((p) => [
          p.name,
          { currentOrchestratorVersion: version, provisioningState: 'Succeeded' as const },
        ]),
      ),
      ...(kms ? { appliedKms: kms } : {}),
      keySlots,
      slotPaths,
      ...(c.stopped ? { powerState: 'Stopped' as const } : {}),
      tokens: { user: randomBytes(24).toString('hex'), admin: randomBytes(24).toString('hex') },
    };
    state.clusters.push(record);
    const kube = ctx.kube.create(
      record.name,
      version,
      clusterEncryption(kms, keySlots, version),
      record.tokens,
    );
    if (c.secrets && c.secrets.count > 0) {
      kube.seed({
        secrets: c.secrets.count,
        namespaces: c.secrets.namespaces,
        seed: c.secrets.seed ?? seed,
        ...(c.secrets.mix ? { mix: c.secrets.mix } : {}),
        ...(c.secrets.maxBytes ? { maxBytes: c.secrets.maxBytes } : {}),
      });
    }
    if (c.kubeFaults) applyKubeFaults(kube.kubeFaults, c.kubeFaults);
  }

  for (const f of scenario.fleets) {
    const { sub, rg } = home(f.subscription, f.resourceGroup);
    const members = f.members.map((m) => {
      const cluster = state.clusters.find((c) => c.name.toLowerCase() === m.cluster.toLowerCase());
      if (!cluster) throw new ScenarioError(`fleet ${f.name}: no cluster named '${m.cluster}'`);
      return {
        name: m.name ?? m.cluster,
        clusterResourceId: clusterArmId(cluster),
        ...(m.group ? { group: m.group } : {}),
      };
    });
    (state.fleets ??= []).push({
      subscriptionId: sub.subscriptionId,
      resourceGroup: rg.name,
      name: f.name,
      location: rg.location,
      members,
    });
  }

  if (scenario.faults) ctx.faults.configure({ seed: scenario.faults.seed, rules: scenario.faults.rules });
}

export const EMPTY_SCENARIO: ScenarioInput = {
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    {
      id: '11111111-2222-4333-8444-555555555555',
      resourceGroups: [{ name: 'rg-kmsflow', location: 'eastus' }],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
};

/**
 * The newcomer demo: a 1.26 cluster on KMS v1 with ~3,000 Secrets (to migrate to v2), a 1.29 cluster on
 * KMS v2 with API server VNet integration, and a public RBAC vault whose role assignments make enabling work.
 */
export const DEMO_SCENARIO: ScenarioInput = {
  seed: 20240601,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    {
      id: '11111111-2222-4333-8444-555555555555',
      displayName: 'kmsflow demo',
      resourceGroups: [{ name: 'rg-kmsflow-demo', location: 'eastus' }],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-aks-kms' }],
  vaults: [
    {
      name: 'kv-kmsflow-demo',
      enableRbacAuthorization: true,
      publicNetworkAccess: 'Enabled',
      enablePurgeProtection: true,
      keys: [
        { name: 'kms-key', kty: 'RSA', versions: 2 },
        { name: 'ec-key', kty: 'EC', versions: 1 },
      ],
    },
  ],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-kmsflow-demo' },
    { role: 'Key Vault Crypto User', principal: 'id-aks-kms', scope: 'vault:kv-kmsflow-demo' },
    { role: 'Key Vault Contributor', principal: 'id-aks-kms', scope: 'vault:kv-kmsflow-demo' },
  ],
  clusters: [
    {
      name: 'aks-legacy',
      kubernetesVersion: '1.26',
      identity: 'id-aks-kms',
      kms: { vault: 'kv-kmsflow-demo', key: 'kms-key', version: 1, networkAccess: 'Public' },
      secrets: { count: 3000, namespaces: 12, seed: 7 },
    },
    {
      name: 'aks-modern',
      kubernetesVersion: '1.29',
      identity: 'id-aks-kms',
      apiServerVnetIntegration: true,
      kms: { vault: 'kv-kmsflow-demo', key: 'kms-key', version: 2, networkAccess: 'Public' },
      secrets: { count: 800, namespaces: 6, seed: 8 },
    },
  ],
};
