/**
 * Planted leaks: a deliberately leaking activity that reads Secrets from a cluster (as a buggy activity
 * would) and puts one value into each channel the Secret scan searches, so a scan that misses a channel
 * fails. Only the reliability tests register it, and only on their own workers.
 */
import { Context, heartbeat, log } from '@temporalio/activity';
import { kubeClient } from '../kube';
import { PLANTED, QUERY_MASK, SCAN_SEED_NAMESPACE } from './planted';

export function leakControlActivities(kubeconfig: string) {
  const read = async (name: string) => {
    const secret = await kubeClient(kubeconfig).readNamespacedSecret({
      name,
      namespace: SCAN_SEED_NAMESPACE,
    });
    return Buffer.from(secret.data!.value!, 'base64');
  };
  return {
    async plantLeaks(): Promise<{ result: { payload: Buffer }; masked: number[] }> {
      log.debug('planted leak control', { note: (await read(PLANTED.workerLog)).toString('utf8') });
      const beat = (await read(PLANTED.describe)).toString('hex');
      // Heartbeat details are visible only while the activity runs: hold it long enough for a poll to see them.
      for (let i = 0; i < 8; i++) {
        heartbeat({ beat });
        await Context.current().sleep(500);
      }
      const masked = [...(await read(PLANTED.query))].map((b) => b ^ QUERY_MASK);
      return { result: { payload: await read(PLANTED.history) }, masked };
    },
  };
}
