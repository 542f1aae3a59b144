import type { DuplicateMember } from './types';
import { formatBytes } from '../util/format-bytes';

const pixels = (m: DuplicateMember) => (m.width ?? 0) * (m.height ?? 0);
const age = (m: DuplicateMember) => (m.takenAt ? Date.parse(`${m.takenAt}Z`) : m.mtimeMs);

/**
 * Suggests which file to keep: largest resolution, then largest file, then oldest, then the one
 * documents link to; ties fall back to the shortest path. The reason names the deciding rule.
 */
export function suggestKeeper(members: readonly DuplicateMember[]): { keeper: DuplicateMember; reason: string } {
  const sorted = [...members].sort(
    (a, b) =>
      pixels(b) - pixels(a) ||
      b.size - a.size ||
      age(a) - age(b) ||
      b.referencedBy.length - a.referencedBy.length ||
      a.relPath.length - b.relPath.length ||
      a.relPath.localeCompare(b.relPath),
  );
  const keeper = sorted[0];
  const runnerUp = sorted[1];
  let reason: string;
  if (!runnerUp) reason = 'only file';
  else if (pixels(keeper) !== pixels(runnerUp)) reason = `largest resolution (${keeper.width}x${keeper.height})`;
  else if (keeper.size !== runnerUp.size) reason = `same resolution, largest file (${formatBytes(keeper.size)})`;
  else if (age(keeper) !== age(runnerUp)) reason = 'same size, oldest';
  else if (keeper.referencedBy.length !== runnerUp.referencedBy.length) {
    reason = `used by ${keeper.referencedBy.length} document${keeper.referencedBy.length === 1 ? '' : 's'}`;
  } else reason = 'identical; shortest path';
  return { keeper, reason };
}
