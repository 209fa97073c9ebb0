import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

/** A CoreV1Api for a kubeconfig the sandbox handed out. */
export function kubeClient(kubeconfig: string): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  return config.makeApiClient(CoreV1Api);
}
