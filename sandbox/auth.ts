/**
 * Sandbox access tokens. They are shaped like Entra ID JWTs (unsigned) so the official clients carry
 * them unchanged, and they name a principal (object id + tenant) so RBAC checks in the sandbox mean
 * something. The same module issues them (SandboxCredential) and reads them (the server).
 */

/** Where a caller's traffic comes from, as far as Key Vault firewalls are concerned. */
export type SandboxNetwork = 'internet' | 'private-link';

export interface SandboxPrincipal {
  /** Entra object id; role assignments name it as principalId. */
  objectId: string;
  tenantId: string;
  /** Application (client) id, shown in Key Vault error messages. */
  clientId?: string;
  /**
   * `private-link` marks a caller inside the vault's virtual network (the path a private endpoint gives),
   * which passes a vault whose public network access is disabled. Default `internet`.
   */
  network?: SandboxNetwork;
  /** Public client address matched against a vault's `networkAcls.ipRules`. Default 198.51.100.7. */
  clientAddress?: string;
}

export const DEFAULT_CLIENT_ADDRESS = '198.51.100.7';

/** The audience of a token: `management` (ARM) or `vault` (Key Vault data plane). */
export type TokenAudience = 'management' | 'vault' | 'other';

interface TokenClaims {
  aud: string;
  oid: string;
  tid: string;
  appid: string;
  exp: number;
  xms_sandbox_net: SandboxNetwork;
  ipaddr: string;
}

function b64url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

/** Audience from an OAuth scope such as `https://management.azure.com/.default` or `https://vault.azure.net/.default`. */
export function audienceFromScope(scope: string): string {
  return scope.replace(/\/\.default$/, '');
}

export function issueSandboxToken(principal: SandboxPrincipal, scope: string, expiresOnMs: number): string {
  const claims: TokenClaims = {
    aud: audienceFromScope(scope),
    oid: principal.objectId,
    tid: principal.tenantId,
    appid: principal.clientId ?? principal.objectId,
    exp: Math.floor(expiresOnMs / 1000),
    xms_sandbox_net: principal.network ?? 'internet',
    ipaddr: principal.clientAddress ?? DEFAULT_CLIENT_ADDRESS,
  };
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
}

export interface VerifiedCaller {
  principal: Required<SandboxPrincipal>;
  audience: TokenAudience;
}

function classifyAudience(aud: string): TokenAudience {
  let host: string;
  try {
    host = new URL(aud).hostname;
  } catch {
    return 'other';
  }
  if (host === 'management.azure.com' || host === 'management.core.windows.net') return 'management';
  if (host === 'vault.azure.net') return 'vault';
  return 'other';
}

/** Reads the bearer token of an `Authorization` header; undefined when absent, malformed or expired. */
export function readBearerToken(
  authorization: string | undefined,
  nowMs: number = Date.now(),
): VerifiedCaller | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const payload = match[1].split('.')[1];
  if (!payload) return undefined;
  let claims: Partial<TokenClaims>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenClaims>;
  } catch {
    return undefined;
  }
  if (!claims.oid || !claims.tid || !claims.aud || typeof claims.exp !== 'number') return undefined;
  if (claims.exp * 1000 < nowMs) return undefined;
  return {
    audience: classifyAudience(claims.aud),
    principal: {
      objectId: claims.oid,
      tenantId: claims.tid,
      clientId: claims.appid ?? claims.oid,
      network: claims.xms_sandbox_net ?? 'internet',
      clientAddress: claims.ipaddr ?? DEFAULT_CLIENT_ADDRESS,
    },
  };
}
