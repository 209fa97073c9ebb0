// Error objects here are built with the SDKs' own classes (RestError, ApiException); the same mapping is
// exercised end to end against the sandbox in the activity tests.
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyError, ErrorType, parseRetryAfter, toApplicationFailure } from '../../activities/errors';

function restError(statusCode: number, code: string, message: string, headers: Record<string, string> = {}) {
  const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
  return new RestError(message, {
    code,
    statusCode,
    request,
    response: { status: statusCode, headers: createHttpHeaders(headers), request },
  });
}

describe('error mapping', () => {
  it('makes throttling and 5xx retryable, honouring Retry-After', () => {
    const failure = toApplicationFailure(
      restError(429, 'TooManyRequests', 'slow down', { 'retry-after': '7' }),
      'Read cluster',
    );
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(ErrorType.transient);
    expect(failure.nextRetryDelay).toBe(7000);
    expect(classifyError(restError(503, 'ServiceUnavailable', 'busy')).retryable).toBe(true);
  });

  it('treats 409 "another operation in progress" as retryable and other 409s as conflicts', () => {
    const inProgress = restError(
      409,
      'OperationNotAllowed',
      'Operation is not allowed: Another operation (nodepool1 - Updating) is in progress, please wait for it to finish before starting a new operation.',
    );
    expect(classifyError(inProgress)).toMatchObject({ type: ErrorType.operationInProgress, retryable: true });
    expect(classifyError(restError(409, 'RoleAssignmentExists', 'exists'))).toMatchObject({
      type: ErrorType.conflict,
      retryable: false,
    });
  });

  it('makes validation and permission errors non-retryable with the code and a fix', () => {
    const failure = toApplicationFailure(
      restError(
        400,
        'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
        'The identity does not have keys encrypt/decrypt permission',
      ),
      'Enable KMS',
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('Enable KMS: The identity does not have keys encrypt/decrypt permission');
    expect(failure.details?.[0]).toEqual({
      code: 'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
      fix: expect.stringContaining('Key Vault Crypto User'),
    });
    expect(classifyError(restError(403, 'AuthorizationFailed', 'no'))).toMatchObject({
      type: ErrorType.permission,
      retryable: false,
    });
    expect(classifyError(restError(404, 'ResourceNotFound', 'gone'))).toMatchObject({
      type: ErrorType.notFound,
      retryable: false,
    });
  });

  it('recovers the code of a failed long-running operation from its message', () => {
    const err = new Error(
      'The long-running operation has failed. InternalOperationError. Internal server error',
    );
    expect(classifyError(err)).toEqual({
      type: ErrorType.operationFailed,
      code: 'InternalOperationError',
      message: 'Internal server error',
      retryable: false,
    });
  });

  it('never copies a Kubernetes response body into the message', () => {
    const body = JSON.stringify({
      kind: 'Status',
      reason: 'Conflict',
      code: 409,
      message: 'the object has been modified',
    });
    const err = new ApiException(409, 'Conflict', body, { 'content-type': 'application/json' });
    const failure = toApplicationFailure(err, 'Rewrite secret ns/a');
    expect(failure.message).toBe('Rewrite secret ns/a: the object has been modified');
    const throttled = new ApiException(
      429,
      'x',
      JSON.stringify({ reason: 'TooManyRequests', message: 'slow' }),
      { 'retry-after': '2' },
    );
    expect(toApplicationFailure(throttled, 'List').nextRetryDelay).toBe(2000);
    const unreadable = new ApiException(
      500,
      'x',
      JSON.stringify({ reason: 'InternalError', message: 'failed to decrypt DEK' }),
      {},
    );
    expect(classifyError(unreadable)).toMatchObject({ type: ErrorType.secretUnreadable, retryable: false });
  });

  it("a vault's host name that does not resolve is a vault that does not exist: not found, never retried", () => {
    const dns = (url: string) =>
      new RestError('getaddrinfo ENOTFOUND host', {
        code: 'ENOTFOUND',
        request: createPipelineRequest({ url }),
      });
    const failure = toApplicationFailure(
      dns('https://kv-gone.vault.azure.net/keys/kms/0123?api-version=7.6'),
      'Read key kms',
    );
    expect(failure).toMatchObject({ type: ErrorType.notFound, nonRetryable: true });
    expect(failure.message).toMatch(/^Read key kms: Key vault kv-gone does not exist/);
    expect(failure.details?.[0]).toEqual({
      code: 'VaultNotFound',
      fix: expect.stringContaining('vault name'),
    });
    // Node's own error for the same lookup (no RestError around it)
    const raw = Object.assign(new Error('getaddrinfo ENOTFOUND kv-gone.vault.azure.net'), {
      code: 'ENOTFOUND',
      hostname: 'kv-gone.vault.azure.net',
    });
    expect(classifyError(raw)).toMatchObject({ type: ErrorType.notFound, retryable: false });
    // Any other name that does not resolve may come back: still transient
    expect(classifyError(dns('https://management.azure.com/subscriptions'))).toMatchObject({
      type: ErrorType.transient,
      code: 'ENOTFOUND',
      retryable: true,
    });
  });

  it("reads Key Vault's inner error code as @azure/keyvault-keys hands it on (details.error.innerError)", () => {
    const err = restError(403, 'Forbidden', 'Client address is not authorized');
    err.details = { error: { code: 'Forbidden', innerError: { code: 'ForbiddenByFirewall' } } };
    expect(classifyError(err)).toMatchObject({ type: ErrorType.permission, code: 'ForbiddenByFirewall' });
  });

  it('treats connection errors as transient and passes ApplicationFailures through', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyError(reset)).toMatchObject({ type: ErrorType.transient, retryable: true });
    const own = ApplicationFailure.nonRetryable('mine', 'Mine');
    expect(toApplicationFailure(own, 'x')).toBe(own);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
