/** Command-line options of `npm run bench -- reencrypt`. */
import { DEFAULT_REENCRYPT_SETTINGS } from '../../workflows/reencrypt';
export const CONTENDERS = ['kubectl', 'kmsflow', 'raw', 'page-activity'] as const;
export type Contender = (typeof CONTENDERS)[number];

export interface BenchOptions {
  sizes: number[];
  /** Added per-request latency of the second run; 0 skips it. */
  latencyMs: number;
  /** Largest size of the latency run (kubectl needs about N × latency there). */
  latencyMaxSize: number;
  /** Largest size kubectl runs at (its memory grows with the estate; larger sizes are estimated from the ones it ran). */
  kubectlMaxSize: number;
  contenders: Contender[];
  concurrency: number[];
  pageSize: number;
  maxQps: number;
  pagesPerRun: number;
  seed: number;
  /** Skip the zero-latency run (e.g. to repeat only the latency run). */
  noZeroLatency: boolean;
  /** The conformance tier's kube-apiserver + etcd + KMS v2 plugin instead of the emulated API server. */
  apiServer: 'emulated' | 'real';
  jsonOut?: string;
}

export const USAGE = `npm run bench -- reencrypt [options]
  --quick                 1,000 Secrets only (both latency settings)
  --sizes 1000,10000      estate sizes (default 1000,10000,50000)
  --latency-ms 10         per-request latency of the second run (0 = zero-latency run only)
  --latency-max-size N    largest size of the latency run (default 10000)
  --kubectl-max-size N    largest size kubectl runs at (default: every size); the scaling table
                          estimates it at larger sizes, linear from the sizes it ran at
  --no-zero-latency       run only the latency run
  --real-apiserver        serve the cluster from a real kube-apiserver + etcd + KMS v2 plugin (the
                          conformance tier's control plane; npm run conformance:setup builds it)
  --contenders LIST       of ${CONTENDERS.join(',')} (default kubectl,kmsflow,raw)
  --concurrency 16        engine/raw concurrency; a list (16,32) runs kmsflow and raw once per value
  --page-size 500         --max-qps 0 (no cap)  --pages-per-run 30  (engine settings)
  --seed 42               estate seed
  --json FILE             also write the results as JSON`;

export function parseOptions(argv: string[]): BenchOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value\n\n${USAGE}`);
    return v;
  };
  const numbers = (name: string, fallback: number[]) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const list = v.split(',').map((x) => Number(x.replace(/_/g, '')));
    if (list.some((n) => !Number.isFinite(n) || n < 0))
      throw new Error(`--${name}: not a list of numbers: ${v}`);
    return list;
  };
  const one = (name: string, fallback: number) => numbers(name, [fallback])[0] ?? fallback;
  const known = new Set([
    'quick',
    'sizes',
    'latency-ms',
    'latency-max-size',
    'kubectl-max-size',
    'no-zero-latency',
    'real-apiserver',
    'contenders',
    'concurrency',
    'page-size',
    'max-qps',
    'pages-per-run',
    'seed',
    'json',
    'help',
  ]);
  for (const a of argv)
    if (a.startsWith('--') && !known.has(a.slice(2))) throw new Error(`unknown option ${a}\n\n${USAGE}`);

  const quick = argv.includes('--quick');
  const contenders = (value('contenders') ?? 'kubectl,kmsflow,raw').split(',') as Contender[];
  for (const c of contenders)
    if (!CONTENDERS.includes(c)) throw new Error(`unknown contender '${c}' (${CONTENDERS.join(', ')})`);
  const sizes = numbers('sizes', quick ? [1_000] : [1_000, 10_000, 50_000]);
  const jsonOut = value('json');
  return {
    sizes,
    latencyMs: one('latency-ms', 10),
    latencyMaxSize: one('latency-max-size', quick ? 1_000 : 10_000),
    kubectlMaxSize: one('kubectl-max-size', Number.POSITIVE_INFINITY),
    contenders,
    concurrency: numbers('concurrency', [16]),
    pageSize: one('page-size', 500),
    maxQps: one('max-qps', DEFAULT_REENCRYPT_SETTINGS.maxQps),
    pagesPerRun: one('pages-per-run', DEFAULT_REENCRYPT_SETTINGS.pagesPerRun),
    seed: one('seed', 42),
    noZeroLatency: argv.includes('--no-zero-latency'),
    apiServer: argv.includes('--real-apiserver') ? 'real' : 'emulated',
    ...(jsonOut ? { jsonOut } : {}),
  };
}

/** Namespaces for an estate of `secrets`: a few dozen for 10k, uneven (the estate generator skews them). */
export const namespacesFor = (secrets: number) => Math.min(200, Math.max(10, Math.round(secrets / 250)));
