/** What FaceLibrary returns (plain JSON-able objects, for RPC handlers to pass on as they are). */

/**
 * - confirmed: the user said so (named it, accepted a suggestion, moved it, named its cluster).
 * - suggested: proposed for a person from that person's confirmed faces; carries a confidence.
 * - clustered: member of an unnamed cluster (a person the user has not named yet).
 * - unassigned: not grouped (alone, or too small/blurry to group: see `usable`).
 * - ignored: the user said this is not a face / not to be grouped.
 */
export type FaceStatus = 'confirmed' | 'suggested' | 'clustered' | 'unassigned' | 'ignored';

export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FaceInfo {
  id: number;
  assetId: number;
  relPath: string;
  /** Full-image pixels, after EXIF rotation (as the photo is displayed). */
  box: FaceBox;
  /** Eyes, nose tip, mouth corners, full-image pixels. */
  landmarks: Array<[number, number]>;
  /** Detector confidence 0..1. */
  score: number;
  sharpness: number;
  /** Short side of the face in working-image pixels (what the embedder saw). */
  size: number;
  /** Good enough to be grouped automatically. */
  usable: boolean;
  personId: number | null;
  personName: string | null;
  status: FaceStatus;
  /** For suggested faces: 0..1; for clustered faces: average similarity to the cluster; else null. */
  confidence: number | null;
}

export interface PersonSummary {
  id: number;
  name: string | null;
  /** 'person': named or edited by the user (kept); 'cluster': found automatically, not named yet. */
  kind: 'person' | 'cluster';
  /** Confirmed + suggested faces (for a cluster: its members). */
  faceCount: number;
  confirmedCount: number;
  suggestedCount: number;
  /** Distinct photos. */
  photoCount: number;
  cover: FaceInfo | null;
}

export interface PersonDetails extends PersonSummary {
  /** Confirmed first, then suggested by confidence (clusters: by similarity). */
  faces: FaceInfo[];
}

export interface Suggestion {
  face: FaceInfo;
  personId: number;
  personName: string | null;
  confidence: number;
}

export interface AssignReport {
  /** Face rows seen for the first time (new photos or re-detected ones). */
  added: number;
  removed: number;
  confirmed: number;
  suggested: number;
  clustered: number;
  unassigned: number;
  durationMs: number;
}
