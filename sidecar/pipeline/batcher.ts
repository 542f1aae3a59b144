/**
 * Gathers single calls into batches: `push` resolves with its own result once the batch it joined
 * has run. A batch runs when it is full or `waitMs` after its first item, whichever comes first,
 * so a lone image is never held up for long. Batches run one at a time.
 */
export class Batcher<I, O> {
  private queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    readonly size: number,
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly waitMs = 40,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.size) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.waitMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue.splice(0, this.size);
    if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), this.waitMs);
    if (batch.length === 0) return;
    this.running = this.running.then(async () => {
      try {
        const out = await this.run(batch.map((b) => b.item));
        if (out.length !== batch.length) throw new Error(`batch of ${batch.length} gave ${out.length} results`);
        batch.forEach((b, i) => b.resolve(out[i]));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    });
  }
}
