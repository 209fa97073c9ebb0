/** JSON form of an emulated cluster's Kubernetes-specific faults, for the admin endpoint and scenarios. */
import { z } from 'zod';
import type { KubeFaults } from './kube/cluster';

export const kubeFaultsSchema = z.object({
  expireContinueAfterPages: z.number().int().min(0).nullable().optional(),
  conflictShare: z.number().min(0).max(1).nullable().optional(),
  terminatingNamespaces: z.array(z.string()).optional(),
  seed: z.number().int().nullable().optional(),
});

export type KubeFaultsInput = z.input<typeof kubeFaultsSchema>;

export interface KubeFaultsJson {
  expireContinueAfterPages?: number;
  conflictShare?: number;
  terminatingNamespaces: string[];
  seed?: number;
}

export function kubeFaultsToJson(f: KubeFaults): KubeFaultsJson {
  return {
    ...(f.expireContinueAfterPages !== undefined
      ? { expireContinueAfterPages: f.expireContinueAfterPages }
      : {}),
    ...(f.conflictShare !== undefined ? { conflictShare: f.conflictShare } : {}),
    terminatingNamespaces: [...f.terminatingNamespaces],
    ...(f.seed !== undefined ? { seed: f.seed } : {}),
  };
}

/** Applies the given fields; `null` clears a field, an omitted field is left as is. */
export function applyKubeFaults(target: KubeFaults, input: KubeFaultsInput): void {
  const f = kubeFaultsSchema.parse(input);
  if (f.expireContinueAfterPages === null) delete target.expireContinueAfterPages;
  else if (f.expireContinueAfterPages !== undefined)
    target.expireContinueAfterPages = f.expireContinueAfterPages;
  if (f.conflictShare === null) delete target.conflictShare;
  else if (f.conflictShare !== undefined) target.conflictShare = f.conflictShare;
  if (f.seed === null) delete target.seed;
  else if (f.seed !== undefined) target.seed = f.seed;
  if (f.terminatingNamespaces) {
    target.terminatingNamespaces.clear();
    for (const ns of f.terminatingNamespaces) target.terminatingNamespaces.add(ns);
  }
}
