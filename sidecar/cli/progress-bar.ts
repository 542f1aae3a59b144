import type { IndexProgress } from '../pipeline/progress';

function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Draws index progress on stderr: an updating bar on a terminal, occasional plain lines otherwise. */
export class ProgressBar {
  // Plain (non-terminal) output waits a little so quick runs print only their summary.
  private lastPlain = Date.now();
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(p: IndexProgress): void {
    const tty = this.stream.isTTY === true;
    if (p.phase === 'scan') {
      if (tty) {
        this.stream.write(`\r\x1b[Kscanning... ${p.done} files`);
        this.drawn = true;
      }
      return;
    }
    if (p.phase === 'done' || p.total === 0) {
      this.finish();
      return;
    }
    const pct = p.total > 0 ? p.done / p.total : 1;
    const line = `${p.done}/${p.total} images  ${p.rate.toFixed(1)} img/s  ETA ${formatSeconds(p.etaSeconds)}${p.failed ? `  ${p.failed} failed` : ''}`;
    if (tty) {
      const width = 24;
      const filled = Math.round(pct * width);
      const cols = this.stream.columns ?? 100;
      const current = p.current ?? '';
      const head = `\r\x1b[K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line}  `;
      const room = Math.max(0, cols - head.length + 5);
      this.stream.write(head + (current.length > room ? `...${current.slice(-(room - 3))}` : current));
      this.drawn = true;
    } else {
      const now = Date.now();
      if (now - this.lastPlain >= 5000) {
        this.lastPlain = now;
        this.stream.write(`${Math.round(pct * 100)}% ${line}\n`);
      }
    }
  }

  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
