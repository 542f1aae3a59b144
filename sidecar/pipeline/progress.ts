/** One progress report from a long job; the CLI draws it as a bar, the server sends it as $/progress. */
export interface IndexProgress {
  phase: 'scan' | 'index' | 'done';
  done: number;
  total: number;
  failed: number;
  current: string | null;
  /** Images per second over the run so far. */
  rate: number;
  etaSeconds: number | null;
}

/** Tracks rate and ETA for `total` items. */
export class ProgressTracker {
  private readonly started = performance.now();
  done = 0;
  failed = 0;

  constructor(readonly total: number) {}

  snapshot(current: string | null, phase: IndexProgress['phase'] = 'index'): IndexProgress {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const remaining = this.total - this.done;
    return {
      phase,
      done: this.done,
      total: this.total,
      failed: this.failed,
      current,
      rate,
      etaSeconds: rate > 0 ? remaining / rate : null,
    };
  }
}
