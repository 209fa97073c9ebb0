// The deployment files a platform team starts from: the worker's Kubernetes objects hang together (selectors,
// service account, workload identity, probes on the port the worker serves, a drain longer than the worker's
// shutdown) and its memory request covers what the benchmark measured. The real API server's own validation
// of the same files runs in the conformance tier (test/conformance/lifecycle.test.ts).
import * as fs from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // The shapes below are read field by field; the API server validates the rest.
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const objects = parseAllDocuments(fs.readFileSync('deploy/kubernetes/worker.yaml', 'utf8')).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS() as K8sObject;
});
const one = (kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

/** Kubernetes memory quantities used here: Mi and Gi. */
function mebibytes(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

describe('deploy/kubernetes/worker.yaml', () => {
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs the worker as its service account, with workload identity', () => {
    const account = one('ServiceAccount');
    expect(account.metadata.annotations?.['azure.workload.identity/client-id']).toBeTruthy();
    expect(pod.serviceAccountName).toBe(account.metadata.name);
    expect(deployment.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    for (const o of objects.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace, o.kind).toBe(one('Namespace').metadata.name);
  });

  it('selects its own pods, and so does the disruption budget', () => {
    const labels = deployment.spec.template.metadata.labels;
    for (const selector of [
      deployment.spec.selector.matchLabels,
      one('PodDisruptionBudget').spec.selector.matchLabels,
    ]) {
      for (const [k, v] of Object.entries(selector as Record<string, string>)) expect(labels[k], k).toBe(v);
    }
  });

  it('probes /healthz and /readyz on the port the worker is told to serve them on', () => {
    const listen = container.args[container.args.indexOf('--health-listen') + 1] as string;
    const port = container.ports.find(
      (p: { name: string }) => p.name === container.livenessProbe.httpGet.port,
    );
    expect(Number(listen.split(':').pop())).toBe(port.containerPort);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  });

  it('gives the worker longer to drain than its own shutdown takes', () => {
    const worker = fs.readFileSync('worker/create-worker.ts', 'utf8');
    const seconds = (name: string) => Number(new RegExp(`${name}: '(\\d+)s'`).exec(worker)![1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      seconds('shutdownGraceTime') + seconds('shutdownForceTime'),
    );
  });

  it('requests at least the memory the worker peaked at in every re-encryption benchmark result', () => {
    type Result = {
      results: {
        scenario: { size: number };
        rows: { contender: string; processes: { name: string; peakRssMb: number }[] }[];
      }[];
    };
    const files = fs.readdirSync('bench/results').filter((f) => /^reencrypt-.*\.json$/.test(f));
    const results = files.map(
      (file) => JSON.parse(fs.readFileSync(`bench/results/${file}`, 'utf8')) as Result,
    );
    expect(results.some((r) => r.results.some((s) => s.scenario.size >= 100_000))).toBe(true);
    const peaks = results.flatMap((result) =>
      result.results.flatMap((r) =>
        r.rows
          .filter((row) => row.contender.startsWith('kmsflow'))
          .flatMap((row) => row.processes.filter((p) => p.name === 'worker').map((p) => p.peakRssMb)),
      ),
    );
    expect(peaks.length).toBeGreaterThan(5);
    expect(mebibytes(container.resources.requests.memory)).toBeGreaterThanOrEqual(Math.max(...peaks));
    expect(mebibytes(container.resources.limits.memory)).toBeGreaterThan(
      mebibytes(container.resources.requests.memory),
    );
  });

  it('reaches Temporal through the standard TEMPORAL_* settings, the API key from a Secret', () => {
    const env = Object.fromEntries(
      (container.env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [e.name, e]),
    );
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS']),
    );
    expect(env.TEMPORAL_API_KEY!.valueFrom).toMatchObject({ secretKeyRef: { key: 'api-key' } });
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = fs.readFileSync('deploy/Dockerfile', 'utf8');
  it('runs the production build as a non-root user, with the health endpoint the manifest probes', () => {
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/ENV .*KMSFLOW_USE_BUILD=1/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/opt\/kmsflow\/bin\/kmsflow", "worker"\]/);
    expect(dockerfile).toContain('"--health-listen", "0.0.0.0:8080"');
  });
});
