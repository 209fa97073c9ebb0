/**
 * Holds the sandbox's ARM long-running operations InProgress until the test releases them. A test that must
 * see an operation running (its Updating state, the 409 a second PUT gets, a retried submit finding it, the
 * state `kmsflow status` shows) then waits on that, not on reaching it within the configured operation
 * duration, which a loaded machine can overrun.
 */
import { completeOperation } from '../../sandbox/arm/operations';
import type { SandboxContext } from '../../sandbox/context';

export interface HeldOperations {
  /** Operations started since the hold that are still InProgress. */
  running(): string[];
  /** Completes every held operation now (as its timer would have) and restores the configured duration. */
  release(): void;
}

/** Every cluster operation of `sandbox` started from now on stays InProgress until `release()`. */
export function holdClusterOperations(sandbox: { context: SandboxContext }): HeldOperations {
  const ctx = sandbox.context;
  const configured = ctx.timing.operationDurationMs;
  const before = new Set(ctx.store.state.operations.map((op) => op.id));
  ctx.timing.operationDurationMs = 24 * 3_600_000;
  const held = () =>
    ctx.store.state.operations.filter((op) => !before.has(op.id) && op.status === 'InProgress');
  return {
    running: () => held().map((op) => op.id),
    release() {
      ctx.timing.operationDurationMs = configured;
      for (const op of held()) completeOperation(ctx, op.id);
    },
  };
}
