/**
 * When to restart a sidecar that died: 1 s, 2 s, 4 s ... up to 30 s; a run that lasted a minute resets
 * the count; after `maxCrashes` crashes in `windowMs` it stops trying (the user gets a Restart button).
 */
export interface RestartPolicyOptions {
  baseMs?: number;
  maxMs?: number;
  stableMs?: number;
  maxCrashes?: number;
  windowMs?: number;
}

export class RestartPolicy {
  private attempt = 0;
  private startedAt = 0;
  private crashes: number[] = [];
  private readonly o: Required<RestartPolicyOptions>;

  constructor(options: RestartPolicyOptions = {}) {
    this.o = { baseMs: 1000, maxMs: 30_000, stableMs: 60_000, maxCrashes: 6, windowMs: 5 * 60_000, ...options };
  }

  started(now: number): void {
    this.startedAt = now;
  }

  /** Delay before the next start, or null to give up. */
  crashed(now: number): number | null {
    if (this.startedAt > 0 && now - this.startedAt >= this.o.stableMs) this.attempt = 0;
    this.crashes = this.crashes.filter((t) => now - t < this.o.windowMs);
    this.crashes.push(now);
    if (this.crashes.length > this.o.maxCrashes) return null;
    const delay = Math.min(this.o.maxMs, this.o.baseMs * 2 ** this.attempt);
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
    this.crashes = [];
  }
}
