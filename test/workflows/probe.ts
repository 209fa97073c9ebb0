import type { ProcedureResult } from '../../workflows/engine/procedure';
import { type ProbeInput, runProbe } from './probe-steps';

export type { ProbeInput };

export function probeProcedure(input: ProbeInput): Promise<ProcedureResult> {
  return runProbe(input);
}
