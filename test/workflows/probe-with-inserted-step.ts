// The probe as a careless change would leave it: a step inserted in the middle. Replaying the recorded
// histories against this bundle must fail.
import type { ProcedureResult } from '../../workflows/engine/procedure';
import { type ProbeInput, runProbe } from './probe-steps';

export function probeProcedure(input: ProbeInput): Promise<ProcedureResult> {
  return runProbe(input, { insertStepAfterChange: true });
}
