import type { ProcessMemory } from '../protocol';

const MB = 1024 * 1024;

/** Where this process's resident memory is, roughly: JavaScript heap, buffers, and native rest. */
export function processMemory(): ProcessMemory {
  const m = process.memoryUsage();
  const round = (bytes: number) => Math.round(bytes / MB);
  return {
    rssMB: round(m.rss),
    heapUsedMB: round(m.heapUsed),
    externalMB: round(m.external),
    nativeMB: round(Math.max(0, m.rss - m.heapTotal - m.external)),
  };
}
