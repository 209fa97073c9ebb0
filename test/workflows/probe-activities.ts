/** The activities of the engine's probe procedure; the tests implement them with controllable behaviour. */
export interface ProbeActivities {
  check(cluster: string): Promise<void>;
  change(cluster: string): Promise<void>;
  rewriteBatch(batch: number): Promise<number>;
  verify(cluster: string): Promise<void>;
}
