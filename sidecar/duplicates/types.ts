/** Exact copies share bytes; near-duplicates share a PDQ hash neighbourhood; similar shots share content. */
export type DuplicateCategory = 'exact' | 'near' | 'similar';

export interface DuplicateMember {
  id: number;
  relPath: string;
  size: number;
  width: number | null;
  height: number | null;
  format: string | null;
  takenAt: string | null;
  mtimeMs: number;
  contentHash: string;
  thumbnail: string | null;
  /** Documents that link to this file. */
  referencedBy: string[];
  /** PDQ distance to the suggested keeper (near-duplicates), 0 for exact copies. */
  distance: number | null;
}

export interface DuplicateGroup {
  /** Stable for the same set of contents: dismissals and resolutions refer to it. */
  key: string;
  category: DuplicateCategory;
  members: DuplicateMember[];
  keeperId: number;
  keeperReason: string;
  /** Bytes freed by keeping only the suggested keeper. */
  reclaimableBytes: number;
}

export interface DuplicateReport {
  groups: DuplicateGroup[];
  /** Freed by keeping only each exact/near group's keeper; similar shots are not copies and do not count. */
  reclaimableBytes: number;
  /** Why a category is empty when it cannot be computed yet. */
  notes: string[];
}
