import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { apiserverRequest } from '../../conformance/control-plane/apiserver';

/** A CoreV1Api for a kubeconfig the sandbox handed out. */
export function kubeClient(kubeconfig: string): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  return config.makeApiClient(CoreV1Api);
}

/** GET /readyz?verbose with a kubeconfig the sandbox handed out: the status and the checks that fail. */
export async function readiness(
  kubeconfig: string,
): Promise<{ status: number; failing: string[]; body: string }> {
  const server = /server: (\S+)/.exec(kubeconfig)![1]!;
  const caPem = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)![1]!, 'base64').toString();
  const adminToken = /token: (\S+)/.exec(kubeconfig)![1]!;
  const res = await apiserverRequest(server, { caPem, adminToken }, 'GET', '/readyz?verbose');
  return {
    status: res.status,
    failing: res.body.split('\n').filter((l) => l.startsWith('[-]')),
    body: res.body,
  };
}
