/**
 * List continue tokens shaped like the apiserver's (base64url JSON with `v`, `rv` and `start`), plus
 * two fields the emulator needs to decide expiry: when the list began and how many pages it served.
 * Clients treat the token as opaque.
 */
import { badRequest } from './status';

export interface ContinueState {
  /** Revision the list was started at; -1 marks the "inconsistent" token offered with a 410. */
  rv: number;
  /** Store key to resume at (the last returned key followed by NUL, as etcd does). */
  start: string;
  /** When the first page of this list was served (ms). */
  startedAt: number;
  /** Pages served so far in this list. */
  pages: number;
}

export function encodeContinue(s: ContinueState): string {
  const json = JSON.stringify({ v: 'meta.k8s.io/v1', rv: s.rv, start: s.start, t: s.startedAt, p: s.pages });
  return Buffer.from(json, 'utf8').toString('base64url');
}

export function decodeContinue(token: string): ContinueState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: the token is not base64-encoded JSON');
  }
  const p = parsed as Record<string, unknown>;
  if (p.v !== 'meta.k8s.io/v1' || typeof p.rv !== 'number' || typeof p.start !== 'string') {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
  return {
    rv: p.rv,
    start: p.start,
    startedAt: typeof p.t === 'number' ? p.t : 0,
    pages: typeof p.p === 'number' ? p.p : 0,
  };
}
