/**
 * Injected faults for the sandbox's Azure services and, through the `FaultHook` each emulated cluster
 * receives, its Kubernetes API servers. Rules are matched in order; decisions come from a seeded PRNG,
 * so a run with the same seed and the same request sequence sees the same faults.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FaultContext, FaultHook } from './contracts';
import { sendJson, sleep } from './http';
import { OPERATION_IN_PROGRESS_CODE, operationInProgressMessage } from './arm/messages';

const serviceSchema = z.enum(['arm', 'keyvault', 'kube']);

export const faultActionSchema = z.discriminatedUnion('kind', [
  /** 429 with Retry-After (seconds). */
  z.object({ kind: z.literal('throttle'), retryAfterSeconds: z.number().min(0).default(1) }),
  /** Any HTTP error, typically 5xx. */
  z.object({
    kind: z.literal('error'),
    status: z.number().int().min(400).max(599),
    code: z.string().optional(),
    message: z.string().optional(),
  }),
  /** Delay before the request is served (other rules still apply). */
  z.object({ kind: z.literal('latency'), ms: z.number().min(0) }),
  /** Drop the connection without an answer (clients see ECONNRESET / socket hang up). */
  z.object({ kind: z.literal('reset') }),
  /** ARM's 409 OperationNotAllowed, as if another operation were running. */
  z.object({ kind: z.literal('operationInProgress'), resource: z.string().optional() }),
  /** The next matching long-running ARM operation is accepted but ends `Failed` with this error. */
  z.object({ kind: z.literal('lroFailure'), code: z.string(), message: z.string() }),
]);

export const faultRuleSchema = z.object({
  id: z.string().optional(),
  service: serviceSchema.optional(),
  /** HTTP method, case-insensitive. */
  method: z.string().optional(),
  /** Regular expression tested against the request path (without query string). */
  path: z.string().optional(),
  cluster: z.string().optional(),
  /** Chance that a matching request is hit, 0..1. */
  probability: z.number().min(0).max(1).default(1),
  /** How many times the rule may fire; omitted = unlimited. */
  count: z.number().int().min(0).optional(),
  action: faultActionSchema,
});

export type FaultAction = z.infer<typeof faultActionSchema>;
export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultRuleInput = z.input<typeof faultRuleSchema>;

export interface FaultRuleState extends FaultRule {
  id: string;
  /** How many times the rule fired. */
  hits: number;
}

export interface FaultConfig {
  seed: number;
  rules: readonly (FaultRuleInput | unknown)[];
}

/** mulberry32: tiny, fast and good enough to make fault decisions (and chaos schedules) reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector implements FaultHook {
  private rules: FaultRuleState[] = [];
  private random: () => number;
  private seedValue: number;
  private nextId = 1;

  constructor(config: Partial<FaultConfig> = {}) {
    this.seedValue = config.seed ?? 1;
    this.random = seededRandom(this.seedValue);
    this.setRules(config.rules ?? []);
  }

  get seed(): number {
    return this.seedValue;
  }

  /** Replaces all rules and restarts the PRNG from `seed` (default: the current seed). */
  configure(config: Partial<FaultConfig>): void {
    if (config.seed !== undefined) this.seedValue = config.seed;
    this.random = seededRandom(this.seedValue);
    this.setRules(config.rules ?? []);
  }

  /** Validates with zod; throws ZodError on a malformed rule. */
  setRules(rules: readonly unknown[]): void {
    this.rules = [];
    for (const rule of rules) this.addRule(rule);
  }

  addRule(input: FaultRuleInput | unknown): FaultRuleState {
    const parsed = faultRuleSchema.parse(input);
    if (parsed.path !== undefined) new RegExp(parsed.path); // reject invalid patterns up front
    const rule: FaultRuleState = { ...parsed, id: parsed.id ?? `fault-${this.nextId++}`, hits: 0 };
    this.rules.push(rule);
    return rule;
  }

  removeRule(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRuleState[] {
    return this.rules.map((r) => ({ ...r }));
  }

  toJSON(): { seed: number; rules: FaultRuleState[] } {
    return { seed: this.seedValue, rules: this.list() };
  }

  private fires(rule: FaultRuleState, ctx: FaultContext): boolean {
    if (rule.count !== undefined && rule.hits >= rule.count) return false;
    if (rule.service && rule.service !== ctx.service) return false;
    if (rule.method && rule.method.toUpperCase() !== ctx.method.toUpperCase()) return false;
    if (rule.cluster && rule.cluster !== ctx.cluster) return false;
    if (rule.path && !new RegExp(rule.path).test(ctx.path)) return false;
    if (rule.probability < 1 && this.random() >= rule.probability) return false;
    rule.hits++;
    return true;
  }

  /**
   * Consulted by the ARM side when it accepts a long-running operation: a matching `lroFailure` rule makes
   * that operation end `Failed` with the rule's error.
   */
  takeLroFailure(ctx: FaultContext): { code: string; message: string } | undefined {
    for (const rule of this.rules) {
      if (rule.action.kind !== 'lroFailure') continue;
      if (this.fires(rule, ctx)) return { code: rule.action.code, message: rule.action.message };
    }
    return undefined;
  }

  async intercept(ctx: FaultContext, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    for (const rule of this.rules) {
      const action = rule.action;
      if (action.kind === 'lroFailure') continue;
      if (!this.fires(rule, ctx)) continue;
      if (action.kind === 'latency') {
        await sleep(action.ms);
        continue;
      }
      answer(ctx, action, req, res);
      return true;
    }
    return false;
  }
}

function answer(
  ctx: FaultContext,
  action: Exclude<FaultAction, { kind: 'latency' | 'lroFailure' }>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  switch (action.kind) {
    case 'reset':
      req.resume();
      req.socket.destroy();
      return;
    case 'throttle':
      sendError(ctx, res, 429, 'TooManyRequests', 'Too many requests, please retry later.', {
        'Retry-After': String(action.retryAfterSeconds),
      });
      return;
    case 'operationInProgress': {
      const resource = action.resource ?? ctx.path.split('/').filter(Boolean).pop() ?? 'resource';
      sendError(ctx, res, 409, OPERATION_IN_PROGRESS_CODE, operationInProgressMessage(resource));
      return;
    }
    case 'error':
      sendError(
        ctx,
        res,
        action.status,
        action.code ?? defaultCode(action.status),
        action.message ?? 'Injected sandbox fault.',
      );
      return;
  }
}

function defaultCode(status: number): string {
  if (status === 500) return 'InternalServerError';
  if (status === 502) return 'BadGateway';
  if (status === 503) return 'ServiceUnavailable';
  if (status === 504) return 'GatewayTimeout';
  return 'InjectedFault';
}

function sendError(
  ctx: FaultContext,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (ctx.service === 'kube') {
    sendJson(
      res,
      status,
      {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason: code,
        code: status,
      },
      headers,
    );
  } else {
    sendJson(res, status, { error: { code, message } }, headers);
  }
}
