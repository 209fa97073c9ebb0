/**
 * Discovery answers (/version, /api, /apis, /api/v1, /openapi/v2) in the formats kubectl negotiates.
 * Aggregated discovery is offered only when Accept asks for it, in the versions the emulated minor
 * served: v2beta1 up to 1.29, v2 and v2beta1 for 1.30-1.32, v2 only from 1.33.
 */
import { json, type Reply } from './reply';

const SECRET_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NAMESPACE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export function parseMinor(kubernetesVersion: string): number {
  return Number(/^v?\d+\.(\d+)/.exec(kubernetesVersion)?.[1] ?? 0);
}

export function versionInfo(kubernetesVersion: string): Reply {
  const v = kubernetesVersion.replace(/^v/, '');
  const [major = '1', minor = '0'] = v.split('.');
  const body = {
    major,
    minor,
    gitVersion: `v${v}`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-01-01T00:00:00Z',
    goVersion: 'go1.22.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
  return json(200, body);
}

function aggregatedVersion(accept: string, minor: number): 'v2' | 'v2beta1' | undefined {
  const served = minor <= 25 ? [] : minor <= 29 ? ['v2beta1'] : minor <= 32 ? ['v2', 'v2beta1'] : ['v2'];
  for (const part of accept.split(',')) {
    if (!part.includes('as=APIGroupDiscoveryList') || !part.includes('g=apidiscovery.k8s.io')) continue;
    const v = /;\s*v=([a-z0-9]+)/.exec(part)?.[1];
    if (v && served.includes(v)) return v as 'v2' | 'v2beta1';
  }
  return undefined;
}

function aggregated(version: 'v2' | 'v2beta1', items: unknown[]): Reply {
  return {
    status: 200,
    contentType: `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
    body: JSON.stringify({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${version}`,
      metadata: {},
      items,
    }),
  };
}

function resource(
  name: string,
  singular: string,
  kind: string,
  scope: 'Namespaced' | 'Cluster',
  verbs: string[],
  shortNames?: string[],
) {
  const r: Record<string, unknown> = {
    resource: name,
    responseKind: { group: '', version: 'v1', kind },
    scope,
    singularResource: singular,
    verbs,
  };
  if (shortNames) r.shortNames = shortNames;
  return r;
}

export function coreApi(accept: string, minor: number): Reply {
  const version = aggregatedVersion(accept, minor);
  if (version) {
    return aggregated(version, [
      {
        metadata: { creationTimestamp: null },
        versions: [
          {
            version: 'v1',
            resources: [
              resource('namespaces', 'namespace', 'Namespace', 'Cluster', NAMESPACE_VERBS, ['ns']),
              resource('secrets', 'secret', 'Secret', 'Namespaced', SECRET_VERBS),
            ],
            freshness: 'Current',
          },
        ],
      },
    ]);
  }
  return json(200, {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }],
  });
}

export function groupsApi(accept: string, minor: number): Reply {
  const version = aggregatedVersion(accept, minor);
  if (version) return aggregated(version, []);
  return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
}

export function coreV1Resources(): Reply {
  return json(200, {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'namespaces',
        singularName: 'namespace',
        namespaced: false,
        kind: 'Namespace',
        verbs: NAMESPACE_VERBS,
        shortNames: ['ns'],
      },
      { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: SECRET_VERBS },
    ],
  });
}

/** An empty protobuf document is a valid (empty) OpenAPI v2 spec; kubectl then validates nothing. */
export const openApiV2 = (): Reply => ({
  status: 200,
  body: Buffer.alloc(0),
  contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
});
