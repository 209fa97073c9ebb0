/**
 * Realistic Secret estates (DESIGN.md "A realistic estate"), deterministic from a seed: the kind mix
 * of real AKS clusters, uneven namespaces, labels and annotations as Helm, cert-manager and
 * external-secrets set them. Values are views into one shared pseudo-random pool, so 100k Secrets
 * with a Helm tail toward 1 MiB cost little memory; a write through the API stores its own copy.
 */
import { SeededRandom } from './prng';
import { dataBytes, fieldsFor, rfc3339, type ManagedFieldsEntry, type SecretContent } from './secret-record';

export type SecretKind = 'opaque' | 'tls' | 'dockerconfigjson' | 'service-account-token' | 'helm';

export interface EstateSpec {
  secrets: number;
  namespaces: number;
  seed?: number;
  /** Relative weights per kind; missing kinds keep their default weight. */
  mix?: Partial<Record<SecretKind, number>>;
  /** Upper bound of one Secret's data size in bytes (default 1,000,000, under the 1 MiB limit). */
  maxBytes?: number;
}

export interface SeedSummary {
  secrets: number;
  namespaces: number;
  /** Total bytes of Secret data (decoded). */
  bytes: number;
  byKind: Record<string, number>;
}

export const DEFAULT_MIX: Record<SecretKind, number> = {
  opaque: 45,
  tls: 20,
  dockerconfigjson: 10,
  'service-account-token': 5,
  helm: 20,
};

export interface GeneratedSecret {
  namespace: string;
  name: string;
  uid: string;
  creationTimestamp: string;
  managedFields: ManagedFieldsEntry[];
  content: SecretContent;
}

export interface Estate {
  namespaces: string[];
  secrets: GeneratedSecret[];
  summary: SeedSummary;
}

const WELL_KNOWN_NAMESPACES = [
  'kube-system',
  'cert-manager',
  'ingress-nginx',
  'monitoring',
  'argocd',
  'external-secrets',
  'default',
  'logging',
];
const TEAMS = [
  'payments',
  'orders',
  'checkout',
  'catalog',
  'search',
  'identity',
  'billing',
  'inventory',
  'shipping',
  'notifications',
  'gateway',
  'frontend',
  'reporting',
  'ledger',
  'profile',
  'pricing',
  'analytics',
  'media',
  'support',
  'risk',
];
const ENVS = ['prod', 'staging', 'dev', 'qa', 'perf', 'sandbox'];
const APPS = [
  'api',
  'worker',
  'web',
  'db',
  'cache',
  'queue',
  'cron',
  'sync',
  'importer',
  'exporter',
  'auth',
  'proxy',
];
const OPAQUE_KEYS = [
  'password',
  'username',
  'api-key',
  'connection-string',
  'client-secret',
  'token',
  'DATABASE_URL',
  'REDIS_PASSWORD',
  'config.yaml',
  'webhook-secret',
];
const DAY_MS = 86_400_000;

/** Base64 text shared by all generated values (helm release payloads are base64 text themselves). */
function textPool(rng: SeededRandom, size: number): Buffer {
  const raw = Buffer.allocUnsafe(Math.ceil((size * 3) / 4) + 3);
  for (let i = 0; i + 4 <= raw.length; i += 4) raw.writeUInt32LE(rng.nextUint32(), i);
  return Buffer.from(raw.toString('base64').slice(0, size), 'latin1');
}

function namespaceNames(count: number, rng: SeededRandom): string[] {
  const names: string[] = WELL_KNOWN_NAMESPACES.slice(0, Math.min(count, WELL_KNOWN_NAMESPACES.length));
  const seen = new Set(names);
  let attempt = 0;
  while (names.length < count) {
    const name =
      attempt < 200
        ? `${rng.pick(TEAMS)}-${rng.pick(ENVS)}`
        : `${rng.pick(TEAMS)}-${rng.pick(ENVS)}-${names.length}`;
    attempt++;
    if (!seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  }
  return names;
}

/** Cumulative weights for picking namespaces: a few hold most Secrets (Zipf-like). */
function zipfCumulative(n: number, rng: SeededRandom): Float64Array {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const cum = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / Math.pow((order[i] as number) + 1, 1.1);
    cum[i] = total;
  }
  for (let i = 0; i < n; i++) cum[i] = (cum[i] as number) / total;
  return cum;
}

function pickCumulative(cum: Float64Array, u: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cum[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class ValueSource {
  constructor(
    private readonly pool: Buffer,
    private readonly rng: SeededRandom,
  ) {}
  /** `length` bytes of base64 text at a random offset of the pool. */
  text(length: number): Buffer {
    const len = Math.min(length, this.pool.length);
    const start = this.rng.int(0, this.pool.length - len);
    return this.pool.subarray(start, start + len);
  }
}

interface KindContext {
  rng: SeededRandom;
  values: ValueSource;
  namespace: string;
  maxBytes: number;
}

interface Made {
  name: string;
  content: SecretContent;
  manager: string;
}

function sortedMap(entries: [string, Buffer][]): Map<string, Buffer> {
  return new Map(entries.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

function opaque({ rng, values }: KindContext): Made {
  const team = rng.pick(TEAMS);
  const app = `${team}-${rng.pick(APPS)}`;
  const keyCount = rng.int(1, 4);
  const total = rng.int(100, 2000);
  const keys = new Set<string>();
  while (keys.size < keyCount) keys.add(rng.pick(OPAQUE_KEYS));
  const data = sortedMap([...keys].map((k) => [k, values.text(Math.max(8, Math.floor(total / keyCount)))]));
  const style = rng.next();
  const name = `${app}-${rng.pick(['credentials', 'config', 'db', 'secrets', 'keys'])}-${rng.hex(5)}`;
  if (style < 0.5) {
    return {
      name,
      manager: 'helm',
      content: {
        type: 'Opaque',
        data,
        labels: {
          'app.kubernetes.io/instance': app,
          'app.kubernetes.io/managed-by': 'Helm',
          'app.kubernetes.io/name': app,
          'helm.sh/chart': `${app}-${rng.int(0, 9)}.${rng.int(0, 20)}.${rng.int(0, 9)}`,
        },
        annotations: { 'meta.helm.sh/release-name': app, 'meta.helm.sh/release-namespace': team },
      },
    };
  }
  if (style < 0.7) {
    return {
      name,
      manager: 'external-secrets',
      content: {
        type: 'Opaque',
        data,
        labels: {
          'reconcile.external-secrets.io/created-by': rng.hex(32),
          'reconcile.external-secrets.io/managed': 'true',
        },
        annotations: { 'reconcile.external-secrets.io/data-hash': rng.hex(32) },
      },
    };
  }
  return { name, manager: 'kubectl-create', content: { type: 'Opaque', data, labels: { app } } };
}

function tls({ rng, values }: KindContext): Made {
  const host = `${rng.pick(TEAMS)}.${rng.pick(ENVS)}.contoso.example`;
  const cert = `${host.replace(/\./g, '-')}-tls`;
  const entries: [string, Buffer][] = [
    ['tls.crt', values.text(rng.int(2800, 4000))],
    ['tls.key', values.text(rng.int(1640, 1710))],
  ];
  if (rng.next() < 0.5) entries.push(['ca.crt', values.text(rng.int(600, 700))]);
  return {
    name: `${cert}-${rng.hex(4)}`,
    manager: 'cert-manager-certificates-issuing',
    content: {
      type: 'kubernetes.io/tls',
      data: sortedMap(entries),
      labels: { 'controller.cert-manager.io/fao': 'true' },
      annotations: {
        'cert-manager.io/alt-names': host,
        'cert-manager.io/certificate-name': cert,
        'cert-manager.io/common-name': host,
        'cert-manager.io/ip-sans': '',
        'cert-manager.io/issuer-group': 'cert-manager.io',
        'cert-manager.io/issuer-kind': 'ClusterIssuer',
        'cert-manager.io/issuer-name': 'letsencrypt-prod',
        'cert-manager.io/uri-sans': '',
      },
    },
  };
}

function dockerconfig({ rng, values }: KindContext): Made {
  const registry = `${rng.pick(TEAMS)}registry${rng.int(1, 9)}.azurecr.io`;
  const user = rng.uuid();
  const password = values.text(rng.int(560, 700)).toString('latin1');
  const auth = Buffer.from(`${user}:${password.slice(0, 60)}`).toString('base64');
  const json = JSON.stringify({ auths: { [registry]: { username: user, password, auth } } });
  return {
    name: `acr-pull-${rng.hex(6)}`,
    manager: 'kubectl-create',
    content: {
      type: 'kubernetes.io/dockerconfigjson',
      data: new Map([['.dockerconfigjson', Buffer.from(json)]]),
    },
  };
}

function serviceAccountToken({ rng, values, namespace }: KindContext): Made {
  const sa = `${rng.pick(TEAMS)}-${rng.pick(APPS)}`;
  return {
    name: `${sa}-token-${rng.hex(5)}`,
    manager: 'kube-controller-manager',
    content: {
      type: 'kubernetes.io/service-account-token',
      data: sortedMap([
        ['ca.crt', values.text(rng.int(1060, 1200))],
        ['namespace', Buffer.from(namespace)],
        ['token', values.text(rng.int(900, 1400))],
      ]),
      annotations: {
        'kubernetes.io/service-account.name': sa,
        'kubernetes.io/service-account.uid': rng.uuid(),
      },
    },
  };
}

/** Helm release payload size: log-uniform 10-200 KB, with 5 % in a tail toward the 1 MiB limit. */
function helmSize(rng: SeededRandom, maxBytes: number): number {
  const size =
    rng.next() < 0.95
      ? 10_000 * Math.pow(20, rng.next())
      : 200_000 + (1_000_000 - 200_000) * Math.pow(rng.next(), 2);
  return Math.min(Math.floor(size), maxBytes);
}

function helmRevision(ctx: KindContext, release: string, revision: number, latest: boolean): Made {
  const { rng, values, maxBytes } = ctx;
  return {
    name: `sh.helm.release.v1.${release}.v${revision}`,
    manager: 'helm',
    content: {
      type: 'helm.sh/release.v1',
      data: new Map([['release', values.text(helmSize(rng, maxBytes))]]),
      labels: {
        modifiedAt: String(1_700_000_000 + rng.int(0, 30_000_000)),
        name: release,
        owner: 'helm',
        status: latest ? 'deployed' : 'superseded',
        version: String(revision),
      },
    },
  };
}

export function generateEstate(spec: EstateSpec, nowMs: number): Estate {
  const rng = new SeededRandom(spec.seed ?? 1);
  const maxBytes = Math.max(64, Math.min(spec.maxBytes ?? 1_000_000, 1_048_576));
  const values = new ValueSource(textPool(rng, Math.max(maxBytes, 256 * 1024)), rng);
  const namespaces = namespaceNames(Math.max(1, spec.namespaces), rng);
  const nsCum = zipfCumulative(namespaces.length, rng);
  const mix = { ...DEFAULT_MIX, ...spec.mix };
  const kinds = Object.keys(mix) as SecretKind[];
  const kindCum = new Float64Array(kinds.length);
  let acc = 0;
  kinds.forEach((k, i) => (kindCum[i] = acc += Math.max(0, mix[k])));
  for (let i = 0; i < kinds.length; i++) kindCum[i] = (kindCum[i] as number) / acc;

  const byKind: Record<string, number> = {};
  const names = new Set<string>();
  const secrets: GeneratedSecret[] = [];
  const managed = new Map<string, ManagedFieldsEntry[]>();
  let bytes = 0;
  // An open Helm release keeps receiving revisions until it has its planned count.
  let release: { namespace: string; name: string; revisions: number; next: number } | undefined;

  while (secrets.length < spec.secrets) {
    const kind = kinds[pickCumulative(kindCum, rng.next())] as SecretKind;
    let namespace = namespaces[pickCumulative(nsCum, rng.next())] as string;
    let made: Made;
    if (kind === 'helm') {
      if (!release)
        release = {
          namespace,
          name: `${rng.pick(TEAMS)}-${rng.pick(APPS)}-${rng.hex(3)}`,
          revisions: rng.int(1, 10),
          next: 1,
        };
      namespace = release.namespace;
      made = helmRevision(
        { rng, values, namespace, maxBytes },
        release.name,
        release.next,
        release.next === release.revisions,
      );
      if (++release.next > release.revisions) release = undefined;
    } else {
      const ctx = { rng, values, namespace, maxBytes };
      made =
        kind === 'opaque'
          ? opaque(ctx)
          : kind === 'tls'
            ? tls(ctx)
            : kind === 'dockerconfigjson'
              ? dockerconfig(ctx)
              : serviceAccountToken(ctx);
    }
    const key = `${namespace}/${made.name}`;
    if (names.has(key)) continue;
    names.add(key);
    const created = nowMs - rng.int(1, 400) * DAY_MS - rng.int(0, DAY_MS);
    // Entries are shared per manager and kind to keep 100k Secrets light; the field sets are representative.
    const mfKey = `${made.manager}/${kind}`;
    let mf = managed.get(mfKey);
    if (!mf) {
      mf = [
        {
          manager: made.manager,
          operation: 'Update',
          apiVersion: 'v1',
          time: rfc3339(created),
          fieldsType: 'FieldsV1',
          fieldsV1: fieldsFor(made.content),
        },
      ];
      managed.set(mfKey, mf);
    }
    secrets.push({
      namespace,
      name: made.name,
      uid: rng.uuid(),
      creationTimestamp: rfc3339(created),
      managedFields: mf,
      content: made.content,
    });
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    bytes += dataBytes(made.content);
  }
  const used = new Set(secrets.map((s) => s.namespace));
  return { namespaces, secrets, summary: { secrets: secrets.length, namespaces: used.size, bytes, byKind } };
}
