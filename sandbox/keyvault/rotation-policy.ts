/**
 * Key rotation policies (`GET|PUT /keys/<name>/rotationpolicy`) and the expiry a rotation gives a new version,
 * plus the Azure-Policy-like rule "Key Vault keys should have an expiration date" (effect Deny) a scenario can
 * assign to a vault or a subscription. The sandbox stores lifetime actions but never runs them on a timer.
 */
import { HttpError, isObject } from '../http';
import type { AzureStore, KeyRecord, KeyRotationPolicyRecord, VaultRecord } from '../store';

/** The built-in policy definition behind the rule (Azure/azure-policy, Key Vault/Keys_ExpirationSet.json). */
export const KEYS_EXPIRATION_POLICY_ID =
  '/providers/Microsoft.Authorization/policyDefinitions/152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0';

interface IsoDuration {
  years: number;
  months: number;
  days: number;
  seconds: number;
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** An ISO 8601 duration as Key Vault takes it (`P90D`, `P2Y`, `P1Y6M`, `PT48H`), or undefined. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  return {
    years: n(1),
    months: n(2),
    days: n(3) * 7 + n(4),
    seconds: n(5) * 3600 + n(6) * 60 + n(7),
  };
}

/** `unixSeconds` plus the duration, calendar-wise for years and months (UTC). */
export function addIsoDuration(unixSeconds: number, duration: string): number {
  const d = parseIsoDuration(duration);
  if (!d) throw new Error(`not an ISO 8601 duration: ${duration}`);
  const date = new Date(unixSeconds * 1000);
  date.setUTCFullYear(date.getUTCFullYear() + d.years, date.getUTCMonth() + d.months);
  return Math.floor(date.getTime() / 1000) + d.days * 86_400 + d.seconds;
}

function durationDays(duration: string): number {
  const base = Date.UTC(2024, 0, 1) / 1000;
  return (addIsoDuration(base, duration) - base) / 86_400;
}

function badPolicy(message: string): HttpError {
  return new HttpError(400, 'BadParameter', message);
}

function durationField(value: unknown, field: string, minDays: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !parseIsoDuration(value))
    throw badPolicy(
      `Property ${field} has invalid value ${JSON.stringify(value)}: expected an ISO 8601 duration.`,
    );
  if (durationDays(value) < minDays)
    throw badPolicy(`Property ${field} must be at least ${minDays} days; got ${value}.`);
  return value;
}

/** The policy a PUT body sets. An empty `lifetimeActions` restores the default actions. */
export function rotationPolicyFromBody(
  body: Record<string, unknown>,
  previous: KeyRotationPolicyRecord | undefined,
  nowSeconds: number,
): KeyRotationPolicyRecord {
  const attrs = isObject(body.attributes) ? body.attributes : {};
  const expiryTime = durationField(attrs.expiryTime, 'attributes.expiryTime', 28);
  const raw = Array.isArray(body.lifetimeActions) ? body.lifetimeActions : [];
  const lifetimeActions: KeyRotationPolicyRecord['lifetimeActions'] = raw.map((item, i) => {
    if (!isObject(item)) throw badPolicy(`lifetimeActions[${i}] must be an object.`);
    const type = isObject(item.action) && typeof item.action.type === 'string' ? item.action.type : '';
    const action =
      type.toLowerCase() === 'rotate' ? 'Rotate' : type.toLowerCase() === 'notify' ? 'Notify' : '';
    if (!action)
      throw badPolicy(
        `lifetimeActions[${i}].action.type must be Rotate or Notify; got ${JSON.stringify(type)}.`,
      );
    const t = isObject(item.trigger) ? item.trigger : {};
    const timeAfterCreate = durationField(
      t.timeAfterCreate,
      `lifetimeActions[${i}].trigger.timeAfterCreate`,
      7,
    );
    const timeBeforeExpiry = durationField(
      t.timeBeforeExpiry,
      `lifetimeActions[${i}].trigger.timeBeforeExpiry`,
      7,
    );
    if ((timeAfterCreate === undefined) === (timeBeforeExpiry === undefined))
      throw badPolicy(
        `lifetimeActions[${i}].trigger needs exactly one of timeAfterCreate and timeBeforeExpiry.`,
      );
    if (action === 'Notify' && timeAfterCreate !== undefined)
      throw badPolicy(`lifetimeActions[${i}]: a Notify action is triggered by timeBeforeExpiry only.`);
    if (timeBeforeExpiry !== undefined && expiryTime === undefined)
      throw badPolicy(`lifetimeActions[${i}]: timeBeforeExpiry needs attributes.expiryTime.`);
    return {
      trigger: timeAfterCreate !== undefined ? { timeAfterCreate } : { timeBeforeExpiry: timeBeforeExpiry! },
      action: { type: action },
    };
  });
  for (const type of ['Rotate', 'Notify'] as const) {
    if (lifetimeActions.filter((a) => a.action.type === type).length > 1)
      throw badPolicy(`A rotation policy takes at most one ${type} action.`);
  }
  return {
    lifetimeActions,
    ...(expiryTime !== undefined ? { expiryTime } : {}),
    created: previous?.created ?? nowSeconds,
    updated: nowSeconds,
  };
}

const DEFAULT_ACTIONS = [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } }];

/** The wire KeyRotationPolicy; a key without one set answers Key Vault's default (no id, no times). */
export function rotationPolicyBundle(base: string, key: KeyRecord) {
  const p = key.rotationPolicy;
  if (!p) return { lifetimeActions: DEFAULT_ACTIONS, attributes: {} };
  return {
    id: `${base}/keys/${key.name}/rotationpolicy`,
    lifetimeActions: p.lifetimeActions.length > 0 ? p.lifetimeActions : DEFAULT_ACTIONS,
    attributes: {
      ...(p.expiryTime !== undefined ? { expiryTime: p.expiryTime } : {}),
      created: p.created,
      updated: p.updated,
    },
  };
}

/** The expiry (unix seconds) of a version the rotation creates at `created`, when the policy sets one. */
export function rotationExpiry(key: KeyRecord, created: number): number | undefined {
  const expiryTime = key.rotationPolicy?.expiryTime;
  return expiryTime === undefined ? undefined : addIsoDuration(created, expiryTime);
}

/** Is the "keys should have an expiration date" rule (Deny) assigned to this vault or its subscription? */
export function requiresKeyExpiry(store: AzureStore, vault: VaultRecord): boolean {
  return (
    vault.requireKeyExpiry === true || store.subscription(vault.subscriptionId)?.requireKeyExpiry === true
  );
}

/**
 * Refuses a new key version without an expiry where the rule is assigned. Key Vault enforces Azure Policy's
 * Deny on data-plane objects itself and answers 403 Forbidden with the inner code ForbiddenByPolicy.
 */
export function assertKeyExpiryPolicy(
  store: AzureStore,
  vault: VaultRecord,
  keyName: string,
  operation: 'create' | 'import' | 'rotate',
  exp: number | undefined,
): void {
  if (exp !== undefined || !requiresKeyExpiry(store, vault)) return;
  throw new HttpError(
    403,
    'Forbidden',
    `Operation '${operation}' on key '${keyName}' is denied by Azure Policy: 'Key Vault keys should have an expiration date' ` +
      `(${KEYS_EXPIRATION_POLICY_ID}, effect Deny) requires attributes.exp. Vault: ${vault.name};location=${vault.location}`,
    { innererror: { code: 'ForbiddenByPolicy' } },
  );
}
