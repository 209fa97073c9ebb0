// Regressions found by the bad-input table: preflight classifies errors thrown by the reads it shares with
// the procedures, which are already ApplicationFailures, and plain errors without a cause.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyError, ErrorType } from '../../activities/errors';

describe('classifyError', () => {
  it('keeps the type, code and retryability of an ApplicationFailure', () => {
    const notFound = ApplicationFailure.create({
      message: 'Read key k/1: gone',
      type: ErrorType.notFound,
      nonRetryable: true,
      details: [{ code: 'KeyNotFound' }],
    });
    expect(classifyError(notFound)).toMatchObject({
      type: 'NotFound',
      code: 'KeyNotFound',
      retryable: false,
      message: 'Read key k/1: gone',
    });
    const precondition = ApplicationFailure.create({
      message: 'same',
      type: 'SameKey',
      nonRetryable: true,
      details: [{ code: 'SameKey', fix: 'fix' }],
    });
    expect(classifyError(precondition)).toMatchObject({ type: 'SameKey', code: 'SameKey', retryable: false });
    expect(classifyError(ApplicationFailure.retryable('busy', ErrorType.transient))).toMatchObject({
      type: 'Transient',
      retryable: true,
    });
  });

  it('classifies a plain error without a cause instead of throwing', () => {
    expect(classifyError(new Error('something odd'))).toMatchObject({
      type: 'Unexpected',
      retryable: true,
      message: 'something odd',
    });
    expect(classifyError(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toMatchObject({
      type: 'Transient',
      code: 'ECONNRESET',
    });
  });
});
