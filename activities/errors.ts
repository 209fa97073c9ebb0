/**
 * The one place where Azure and Kubernetes errors become Temporal failures. Every activity lets its
 * errors pass through `toApplicationFailure`, so no raw SDK error (whose message may embed a response
 * body) ever reaches workflow history.
 */
import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { FailureDetails } from '../workflows/messages';

export const ErrorType = {
  /** Transient: throttling, 5xx, connection trouble, another operation in progress. */
  transient: 'Transient',
  operationInProgress: 'OperationInProgress',
  permission: 'PermissionDenied',
  notFound: 'NotFound',
  validation: 'ValidationFailed',
  conflict: 'Conflict',
  expired: 'Expired',
  preconditionFailed: 'PreconditionFailed',
  operationFailed: 'OperationFailed',
  secretUnreadable: 'SecretUnreadable',
  unexpected: 'Unexpected',
} as const;

const LRO_FAILED = /^The long-running operation has failed\. ([^.]+)\. ([\s\S]*)$/;
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'REQUEST_SEND_ERROR',
]);
const MAX_MESSAGE = 600;

/** One sentence per known Azure / Kubernetes code that tells the operator how to unblock. */
const FIXES: Record<string, string> = {
  AzureKeyVaultKmsValidateIdentityPermissionCustomerError:
    "Grant the cluster's user-assigned identity the 'Key Vault Crypto User' role on the vault (or keys encrypt/decrypt in its access policy), then retry.",
  ForbiddenByFirewall:
    "The vault's firewall blocks this caller: run the worker from a network the vault allows, or add it to the vault's network rules, then retry.",
  ForbiddenByRbac:
    "Grant the worker's identity the Key Vault role the message names (see docs/permissions.md), then retry.",
  AuthorizationFailed:
    "Grant the worker's identity the Azure role the message names on that scope (see docs/permissions.md), then retry.",
  KeyNotFound: 'Check the key id: that key or version does not exist in the vault.',
  VaultNotFound:
    'Check the vault name in the key id: no key vault of that name exists (its host name does not resolve); a deleted vault can be recovered within its retention period (az keyvault recover --name <vault>).',
  ResourceNotFound:
    'Check the resource id (subscription, resource group and name): the resource does not exist.',
  ResourceGroupNotFound: 'Check the resource group in the resource id.',
  OperationNotAllowed: 'Read the message: AKS refused the change; fix the request as it says, then retry.',
  PreconditionFailed: 'The resource changed while kmsflow worked on it; retry to re-read it.',
  KeyExpired: 'Extend the expiry of the key version (az keyvault key set-attributes --expires), then retry.',
  Unauthorized:
    'The credential was refused: check the worker identity (AZURE_* settings) or the kubeconfig token.',
  Forbidden:
    'Grant the worker identity the permission the message names (see docs/permissions.md), then retry.',
};

export function fixFor(code: string | undefined): string | undefined {
  return code ? FIXES[code] : undefined;
}

interface Classified {
  type: string;
  code?: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

function truncate(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}

/** Seconds or an HTTP date, as Retry-After carries it. */
export function parseRetryAfter(value: string | undefined | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function classifyHttp(
  status: number | undefined,
  code: string | undefined,
  message: string,
): Omit<Classified, 'message'> {
  if (status === 429) return { type: ErrorType.transient, code: code ?? 'TooManyRequests', retryable: true };
  if (status === 409 && /another operation .* in progress/i.test(message)) {
    return { type: ErrorType.operationInProgress, code, retryable: true };
  }
  if (status === 412)
    return { type: ErrorType.preconditionFailed, code: code ?? 'PreconditionFailed', retryable: true };
  if (status === 408 || (status !== undefined && status >= 500 && status !== 501 && status !== 505)) {
    return { type: ErrorType.transient, code, retryable: true };
  }
  if (status === 401 || status === 403) return { type: ErrorType.permission, code, retryable: false };
  if (status === 404) return { type: ErrorType.notFound, code, retryable: false };
  if (status === 409) return { type: ErrorType.conflict, code, retryable: false };
  if (status === 410) return { type: ErrorType.expired, code: code ?? 'Expired', retryable: false };
  if (status !== undefined && status >= 400) return { type: ErrorType.validation, code, retryable: false };
  return { type: ErrorType.unexpected, code, retryable: true };
}

function innerCode(err: RestError): string | undefined {
  // Key Vault puts the precise reason (ForbiddenByFirewall, ForbiddenByRbac) in error.innererror.code;
  // @azure/keyvault-keys 4.10 hands it on as details.error.innerError.
  const details = err.details as
    { error?: { innererror?: { code?: string }; innerError?: { code?: string } } } | undefined;
  return details?.error?.innererror?.code ?? details?.error?.innerError?.code;
}

/** Key Vault and Managed HSM host names in every Azure cloud: each vault is a DNS name of its own. */
const VAULT_HOST =
  /\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.microsoftazure\.de|managedhsm\.azure\.net)\.?$/i;

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * A vault host name that does not resolve (NXDOMAIN) is a vault that does not exist: DNS answers that for sure,
 * so retrying cannot help. Any other name that does not resolve (ARM, a cluster) stays a transient failure.
 */
function vaultNotFound(
  code: string | undefined,
  host: string | undefined,
  message: string,
): Classified | undefined {
  if (code !== 'ENOTFOUND' || !host || !VAULT_HOST.test(host)) return undefined;
  return {
    type: ErrorType.notFound,
    code: 'VaultNotFound',
    message: truncate(`Key vault ${host.split('.')[0]} does not exist: ${message}`),
    retryable: false,
  };
}

function classifyAzure(err: RestError): Classified {
  const code = innerCode(err) ?? err.code;
  const systemCode = err.code && TRANSIENT_SYSTEM_CODES.has(err.code) ? err.code : undefined;
  const missingVault =
    err.statusCode === undefined ? vaultNotFound(err.code, hostOf(err.request?.url), err.message) : undefined;
  if (missingVault) return missingVault;
  if (err.statusCode === undefined && systemCode) {
    return { type: ErrorType.transient, code: systemCode, message: truncate(err.message), retryable: true };
  }
  const base = classifyHttp(err.statusCode, code, err.message);
  return {
    ...base,
    message: truncate(err.message),
    retryAfterMs: parseRetryAfter(err.response?.headers.get('retry-after')),
  };
}

interface KubernetesStatus {
  message?: string;
  reason?: string;
  code?: number;
}

function parseStatus(body: unknown): KubernetesStatus {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as KubernetesStatus;
    } catch {
      return {};
    }
  }
  return (body ?? {}) as KubernetesStatus;
}

function classifyKubernetes(err: ApiException<unknown>): Classified {
  // Never use err.message: client-node puts the whole response body and headers in it.
  const status = parseStatus(err.body);
  const message = truncate(status.message ?? `Kubernetes API answered HTTP ${err.code}`);
  if (err.code === 500 && /decrypt|transformer|kms/i.test(message)) {
    return {
      type: ErrorType.secretUnreadable,
      code: status.reason ?? 'InternalError',
      message,
      retryable: false,
    };
  }
  const base = classifyHttp(err.code, status.reason, message);
  const headers = err.headers as Record<string, string> | undefined;
  return { ...base, message, retryAfterMs: parseRetryAfter(headers?.['retry-after']) };
}

function systemErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code) ? code : undefined;
}

export function classifyError(err: unknown): Classified {
  // An activity's own failure (already mapped, e.g. by a read another activity reuses) keeps its classification.
  if (err instanceof ApplicationFailure) {
    const details = err.details?.[0] as FailureDetails | undefined;
    return {
      type: err.type ?? ErrorType.unexpected,
      code: details?.code,
      message: truncate(err.message),
      retryable: !err.nonRetryable,
    };
  }
  if (isRestError(err)) return classifyAzure(err);
  if (err instanceof ApiException) return classifyKubernetes(err);
  const message = err instanceof Error ? err.message : String(err);
  const lro = LRO_FAILED.exec(message);
  if (lro) {
    return {
      type: ErrorType.operationFailed,
      code: lro[1],
      message: truncate(lro[2] ?? message),
      retryable: false,
    };
  }
  if (message === 'Operation was canceled') {
    return { type: ErrorType.operationFailed, code: 'Canceled', message, retryable: false };
  }
  const systemCode = systemErrorCode(err) ?? systemErrorCode((err as { cause?: unknown }).cause);
  const failedHost = [err, (err as { cause?: unknown }).cause]
    .map((e) => (e as { hostname?: unknown } | undefined)?.hostname)
    .find((h): h is string => typeof h === 'string');
  const missingVault = vaultNotFound(systemCode, failedHost, message);
  if (missingVault) return missingVault;
  if (systemCode)
    return { type: ErrorType.transient, code: systemCode, message: truncate(message), retryable: true };
  return { type: ErrorType.unexpected, message: truncate(message), retryable: true };
}

/**
 * Maps any error to an ApplicationFailure: retryable ones honour Retry-After, non-retryable ones carry
 * the Azure/Kubernetes code and a fix sentence as FailureDetails (what a blocked step shows).
 */
export function toApplicationFailure(err: unknown, action: string, fix?: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const c = classifyError(err);
  const details: FailureDetails = { code: c.code, fix: fix ?? fixFor(c.code) };
  return ApplicationFailure.create({
    message: `${action}: ${c.message}`,
    type: c.type,
    nonRetryable: !c.retryable,
    details: [details],
    nextRetryDelay: c.retryAfterMs !== undefined && c.retryAfterMs > 0 ? c.retryAfterMs : undefined,
  });
}

/** Runs `fn`, mapping whatever it throws. The usual wrapper around one SDK call in an activity. */
export async function mapErrors<T>(action: string, fn: () => Promise<T>, fix?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApplicationFailure(err, action, fix);
  }
}
