import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltInRoles } from '../../activities/permissions';
import { ROLE_IDS } from '../../sandbox/rbac';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { SandboxAzureClients } from '../../sandbox/client-options';
import { RG, testScenario, restError } from './helpers';

let sb: RunningSandbox;
let az: SandboxAzureClients;

beforeAll(async () => {
  sb = await startSandbox({ scenario: testScenario({ clusters: [] }), operationDurationMs: 100 });
  az = sb.clients(undefined, { retryOptions: { maxRetries: 0 } });
});
afterAll(async () => sb?.close());

const vaultScope = () =>
  `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-test`;

describe('user-assigned identities (@azure/arm-msi)', () => {
  it('creates and reads an identity with principal and client ids', async () => {
    const created = await az.msi.userAssignedIdentities.createOrUpdate(RG, 'id-new', { location: 'eastus' });
    expect(created.principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.tenantId).toBe(sb.tenantId);
    const read = await az.msi.userAssignedIdentities.get(RG, 'id-new');
    expect(read.principalId).toBe(created.principalId);
    const seeded = await az.msi.userAssignedIdentities.get(RG, 'id-kms');
    expect(seeded.id).toBe(
      `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-kms`,
    );
    const missing = await restError(az.msi.userAssignedIdentities.get(RG, 'nope'));
    expect(missing.statusCode).toBe(404);
  });
});

describe('role definitions and assignments (@azure/arm-authorization)', () => {
  it('resolves the Key Vault roles by name with their real GUIDs', async () => {
    for (const [name, id] of [
      ['Key Vault Crypto User', ROLE_IDS.keyVaultCryptoUser],
      ['Key Vault Crypto Officer', ROLE_IDS.keyVaultCryptoOfficer],
      ['Key Vault Contributor', ROLE_IDS.keyVaultContributor],
    ] as const) {
      const found = [];
      for await (const r of az.authorization.roleDefinitions.list(vaultScope(), {
        filter: `roleName eq '${name}'`,
      }))
        found.push(r);
      expect(found).toHaveLength(1);
      expect(found[0]?.name).toBe(id);
      expect(found[0]?.id).toBe(
        `/subscriptions/${sb.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${id}`,
      );
    }
    const user = await az.authorization.roleDefinitions.get(vaultScope(), ROLE_IDS.keyVaultCryptoUser);
    expect(user.permissions?.[0]?.dataActions).toContain('Microsoft.KeyVault/vaults/keys/encrypt/action');
  });

  it("pins the built-in role GUIDs (identical in every tenant), the same ones kmsflow's permission check compares", () => {
    const real = {
      keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
      keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
      keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424',
      keyVaultContributor: 'f25e0fa2-a7c8-4377-a976-54943a77a395',
      owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
      contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    };
    expect(ROLE_IDS).toMatchObject({
      ...real,
      keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
    });
    expect(BuiltInRoles).toEqual(real);
  });

  it('lists assignments at or above a scope, creates one, and answers 409 RoleAssignmentExists for a duplicate', async () => {
    const identity = await az.msi.userAssignedIdentities.get(RG, 'id-nokeys');
    const atScope = async () => {
      const out = [];
      for await (const a of az.authorization.roleAssignments.listForScope(vaultScope(), {
        filter: 'atScope()',
      }))
        out.push(a);
      return out;
    };
    const before = await atScope();
    expect(before.some((a) => a.principalId === identity.principalId)).toBe(false);

    const roleDefinitionId = `/subscriptions/${sb.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.keyVaultCryptoUser}`;
    const created = await az.authorization.roleAssignments.create(vaultScope(), randomUUID(), {
      roleDefinitionId,
      principalId: identity.principalId!,
      principalType: 'ServicePrincipal',
    });
    expect(created.scope).toBe(vaultScope());
    expect(created.roleDefinitionId).toBe(roleDefinitionId);

    const after = await atScope();
    expect(after.filter((a) => a.principalId === identity.principalId)).toHaveLength(1);

    const dup = await restError(
      az.authorization.roleAssignments.create(vaultScope(), randomUUID(), {
        roleDefinitionId,
        principalId: identity.principalId!,
        principalType: 'ServicePrincipal',
      }),
    );
    expect(dup.statusCode).toBe(409);
    expect(dup.code).toBe('RoleAssignmentExists');
    expect(dup.message).toBe('The role assignment already exists.');

    // the new assignment makes the identity pass the KMS permission check
    const mine = [];
    for await (const a of az.authorization.roleAssignments.listForScope(vaultScope(), {
      filter: `principalId eq '${identity.principalId!}'`,
    }))
      mine.push(a);
    expect(mine).toHaveLength(1);
  });

  it('answers PrincipalNotFound for an unknown principal without principalType', async () => {
    const e = await restError(
      az.authorization.roleAssignments.create(vaultScope(), randomUUID(), {
        roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.keyVaultCryptoUser}`,
        principalId: randomUUID(),
      }),
    );
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe('PrincipalNotFound');
  });

  it('an assignment at resource-group scope grants the data plane on vaults below it', async () => {
    const outsider = sb.context.store.principal('outsider')!;
    const keys = sb.clients('outsider', { retryOptions: { maxRetries: 0 } }).keys('kv-test');
    expect((await restError(keys.getKey('kms'))).statusCode).toBe(403);
    await az.authorization.roleAssignments.create(
      `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}`,
      randomUUID(),
      {
        roleDefinitionId: `/subscriptions/${sb.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.keyVaultCryptoUser}`,
        principalId: outsider.objectId,
        principalType: 'User',
      },
    );
    expect((await keys.getKey('kms')).name).toBe('kms');
  });
});
