/**
 * Named points in multi-step file operations where tests make the sidecar die as a kill -9 would
 * (LOUPE_CRASH_AT=name, or name#n for the n-th time it is reached), to prove recovery from each
 * in-between state. Does nothing unless that variable is set.
 */
const wanted = process.env.LOUPE_CRASH_AT ?? '';
const [wantedName, wantedCount] = wanted.split('#');
let reached = 0;

export function crashPoint(name: string): void {
  if (!wanted || name !== wantedName) return;
  reached += 1;
  if (reached === Number(wantedCount ?? 1)) process.kill(process.pid, 'SIGKILL');
}
