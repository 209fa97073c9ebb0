import { condition, defineSignal, setHandler, sleep } from '@temporalio/workflow';
export const go = defineSignal('go');
export async function probe(): Promise<string> {
  await sleep(10);
  let ok = false;
  setHandler(go, () => { ok = true; });
  await condition(() => ok);
  return 'v2';
}
