/**
 * Runs `worker` over `items` with at most `concurrency` in flight. Stops taking new items
 * once `signal` aborts; items already started finish (their results are atomic anyway).
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ started: number }> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++];
      await worker(item);
    }
  });
  await Promise.all(lanes);
  return { started: next };
}
