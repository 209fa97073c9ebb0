import { condition, defineSignal, setHandler, sleep } from '@temporalio/workflow';
export const go = defineSignal('go');
export async function probe(): Promise<string> {
  let ok = false;
  setHandler(go, () => { ok = true; });
  await condition(() => ok);
  return 'v1';
}
