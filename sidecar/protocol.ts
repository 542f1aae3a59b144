/**
 * The Loupe sidecar protocol: JSON-RPC 2.0 over a WebSocket, one message per text frame.
 * This file is the single source of truth for the extension, the webview bridge and the server;
 * docs/protocol.md describes the same methods for other editors.
 */
import { NotificationType, RequestType, ResponseError } from 'vscode-jsonrpc';
import type { IndexProgress } from './pipeline/progress';
import type { MatchReason, SearchHit } from './search/search';

export type { IndexProgress, MatchReason, SearchHit };

export const PROTOCOL_VERSION = 1;

/** JSON-RPC error codes (standard ones plus Loupe's, in the server-defined range). */
export const LoupeErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  /** The `root` named in the request is not served by this sidecar. */
  UnknownRoot: -32001,
  /** No asset with that id in that root (it may have been deleted). */
  UnknownAsset: -32002,
  /** The feature needs an analyzer or model that is not enabled or not indexed yet. */
  FeatureUnavailable: -32003,
  /** A malformed or stale pagination cursor. */
  InvalidCursor: -32004,
  /** A duplicate resolution or undo could not be done; nothing was left half-done. */
  ResolutionFailed: -32005,
  /** A model could not be downloaded or did not match its sha256; nothing was enabled. */
  DownloadFailed: -32006,
  /** An image cannot be optimised as asked (animated to a still format, unreadable, SVG); nothing was written. */
  TransformRefused: -32010,
} as const;

export function loupeError(code: number, message: string): ResponseError<void> {
  return new ResponseError(code, message);
}

/** Identifies an asset across roots: catalog ids are only unique within one root. */
export interface AssetRef {
  root: string;
  id: number;
}

// ---- handshake ----

/** The one JSON line `loupe serve` prints on stdout once it listens. */
export interface ServerHandshake {
  port: number;
  token: string;
  pid: number;
  version: string;
  protocol: number;
}

/** Sent as the first frame by clients that cannot set an Authorization header. */
export interface AuthParams {
  token: string;
}
export const AuthNotification = new NotificationType<AuthParams>('auth');

// ---- LSP lifecycle (so vscode-languageclient can drive the sidecar) ----

export interface InitializeParams {
  processId?: number | null;
  clientInfo?: { name: string; version?: string };
  capabilities?: { window?: { workDoneProgress?: boolean } };
  [key: string]: unknown;
}
export interface InitializeResult {
  capabilities: Record<string, unknown>;
  serverInfo: { name: string; version: string };
  roots: string[];
}
export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('initialize');
export const ShutdownRequest = new RequestType<void, null, void>('shutdown');

// ---- index ----

export type RootState = 'starting' | 'idle' | 'scanning' | 'indexing';

export interface RootStatus {
  root: string;
  catalog: string;
  state: RootState;
  images: number;
  pending: number;
  errors: number;
  /** Present while a run is under way. */
  progress: IndexProgress | null;
  lastRun: { finishedAt: string; processed: number; failed: number; durationMs: number } | null;
  watching: boolean;
}

export interface RootParams {
  /** Omit to mean every root the sidecar serves. */
  root?: string;
}

/** The sidecar process's memory, in MB: resident in all, and the JavaScript parts of it. */
export interface ProcessMemory {
  rssMB: number;
  /** JavaScript objects (V8 heap in use). */
  heapUsedMB: number;
  /** Memory outside the V8 heap that JavaScript objects hold (Buffers, typed arrays). */
  externalMB: number;
  /** The rest of rss: native libraries (DuckDB, libvips, onnxruntime), code, and allocator slack. */
  nativeMB: number;
}

export interface IndexStatusResult {
  roots: RootStatus[];
  memory: ProcessMemory;
}
export const IndexStatusRequest = new RequestType<RootParams, IndexStatusResult, void>('index/status');

export interface RescanParams extends RootParams {
  /** LSP work-done token: progress for this rescan is reported on it. */
  workDoneToken?: string | number;
}
export const IndexRescanRequest = new RequestType<RescanParams, { started: string[] }, void>('index/rescan');
export const IndexCancelRequest = new RequestType<RootParams, { cancelled: string[] }, void>('index/cancel');

export interface IndexFailure {
  root: string;
  relPath: string;
  code: string;
  message: string;
}
export const IndexErrorsRequest = new RequestType<RootParams & { limit?: number }, { failures: IndexFailure[] }, void>('index/errors');

/** Sent to every client when assets were added, changed or removed (search results may be stale). */
export interface IndexChangedParams {
  root: string;
  upserted: number[];
  removed: number[];
}
export const IndexChangedNotification = new NotificationType<IndexChangedParams>('index/changed');

// ---- search ----

export interface SearchFilters {
  folder?: string;
  formats?: string[];
  camera?: string;
  takenFrom?: string;
  takenTo?: string;
  /** Images tagged with this concept (or all of these), like `tag:` in the query. */
  tag?: string | string[];
}

export interface SearchParams extends RootParams {
  query: string;
  filters?: SearchFilters;
  limit?: number;
  cursor?: string | null;
}

/** A hit with the root it belongs to (results from several roots are merged). */
export interface RootedSearchHit extends SearchHit {
  root: string;
}

export interface SearchResponse {
  query: string;
  items: RootedSearchHit[];
  total: number;
  nextCursor: string | null;
  warnings: string[];
}
export const SearchRequest = new RequestType<SearchParams, SearchResponse, void>('search');

export interface SimilarParams extends AssetRef {
  limit?: number;
}
export const SimilarRequest = new RequestType<SimilarParams, SearchResponse, void>('similar');

// ---- assets ----

export interface AssetTag {
  name: string;
  score: number;
  count: number;
  source: 'label' | 'object' | 'colour';
  /** Confident enough to show as a fact (score >= 0.15); the rest are the classifier's long tail. */
  likely: boolean;
}

export interface AssetDetails {
  root: string;
  id: number;
  relPath: string;
  absPath: string;
  size: number;
  format: string | null;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  camera: string | null;
  orientation: number | null;
  gps: { lat: number; lon: number } | null;
  status: 'pending' | 'ok' | 'error';
  error: { code: string; message: string } | null;
  thumbnail: string | null;
  /**
   * Concept tags (WordNet names: the class, its ancestors, detected objects, dominant colours), best
   * first, score 0..1; `count` = objects detected of that concept (0 when none were counted), `source`
   * = the evidence that gave the score. Empty until the label/object/colour analyzers have run.
   */
  tags: AssetTag[];
  /** Recognised text (null until the OCR analyzer has read the image); see `ocr/search`. */
  ocr: OcrTextInfo | null;
  faces: FaceInfo[];
}
export const AssetGetRequest = new RequestType<AssetRef, AssetDetails, void>('asset/get');
/** The asset at an absolute file path (in any served root), or null if that file is not indexed. */
export const AssetByPathRequest = new RequestType<{ path: string }, AssetDetails | null, void>('asset/byPath');

// ---- text in images (OCR) ----

export type { OcrLineInfo, OcrSearchItem, OcrTextInfo } from './ocr/library';
import type { OcrSearchItem, OcrTextInfo } from './ocr/library';

export interface OcrSearchParams {
  root?: string;
  /** Words (prefix and typo tolerant) and "quoted phrases". */
  query: string;
  limit?: number;
}
export interface OcrSearchResult {
  query: string;
  items: Array<OcrSearchItem & { root: string; thumbnail: string | null }>;
  total: number;
}
export const OcrSearchRequest = new RequestType<OcrSearchParams, OcrSearchResult, void>('ocr/search');
export const ThumbnailPathRequest = new RequestType<AssetRef, { path: string | null }, void>('thumbnail/path');

// ---- duplicates ----

export type { DuplicateCategory, DuplicateGroup, DuplicateMember } from './duplicates/types';
export type { ResolutionResult, ResolutionState } from './duplicates/resolve';
import type { DuplicateGroup } from './duplicates/types';
import type { ResolutionResult } from './duplicates/resolve';

export interface RootedDuplicateGroup extends DuplicateGroup {
  root: string;
}
export interface DuplicatesListResult {
  groups: RootedDuplicateGroup[];
  reclaimableBytes: number;
  notes: string[];
}
export const DuplicatesListRequest = new RequestType<RootParams, DuplicatesListResult, void>('duplicates/list');

export interface DuplicatesResolveParams {
  root: string;
  groupKey: string;
  /** Asset ids to keep (links to trashed files are pointed at the first). */
  keep: number[];
  /** Asset ids to move to the OS trash; default: every other member. */
  trash?: number[];
}
export const DuplicatesResolveRequest = new RequestType<DuplicatesResolveParams, ResolutionResult, void>('duplicates/resolve');
export const DuplicatesUndoRequest = new RequestType<{ root: string; id: number }, ResolutionResult, void>('duplicates/undo');
export const DuplicatesDismissRequest = new RequestType<{ root: string; groupKey: string }, { dismissed: string }, void>('duplicates/dismiss');
export const DuplicatesHistoryRequest = new RequestType<RootParams & { limit?: number }, { resolutions: Array<ResolutionResult & { root: string }> }, void>('duplicates/history');

// ---- files ----

/** Moves files to the OS trash (journalled: `files/restore` with the returned id brings them back). */
export const FilesTrashRequest = new RequestType<{ root: string; ids: number[] }, ResolutionResult, void>('files/trash');
/** Undoes a `files/trash` (or a duplicate resolution): the files come back from the OS trash. */
export const FilesRestoreRequest = new RequestType<{ root: string; id: number }, ResolutionResult, void>('files/restore');

// ---- transform (optimise images for the web) ----

export type { TransformOptions, OutputFormat, EnhanceOptions } from './transform/options';
export type { TransformPreview } from './transform/preview';
export type { ApplyResult, FileResult, FileStatus, TransformUndoResult } from './transform/apply';
import type { TransformOptions } from './transform/options';
import type { TransformPreview } from './transform/preview';
import type { ApplyResult, TransformUndoResult } from './transform/apply';

export interface TransformPreviewParams {
  root: string;
  id: number;
  options?: TransformOptions;
}
/** The result's size, dimensions and a preview image, without writing anything beside the original. */
export const TransformPreviewRequest = new RequestType<TransformPreviewParams, TransformPreview, void>('transform/preview');

export interface TransformApplyParams {
  root: string;
  /** The images (asset ids), or `folder` (root-relative, "" for the whole root): every indexed image under it. */
  ids?: number[];
  folder?: string;
  options?: TransformOptions;
  /** 'beside' (default): a new file next to each original. 'replace': originals go to the OS trash, links follow. */
  mode?: 'beside' | 'replace';
  /** Allow replacing files that already have the output's name (they go to the trash). */
  overwrite?: boolean;
  /** Beside mode: output file name pattern, tokens {name} {ext} {width} {height} {format}. */
  pattern?: string;
  /** Progress on this work-done token; `window/workDoneProgress/cancel` with it (or `$/cancelRequest`) stops between files. */
  workDoneToken?: string | number;
}
export const TransformApplyRequest = new RequestType<TransformApplyParams, ApplyResult, void>('transform/apply');
export const TransformUndoRequest = new RequestType<{ root: string; id: number }, TransformUndoResult, void>('transform/undo');

// ---- faces and people ----

export type { FaceInfo, PersonSummary, PersonDetails, Suggestion, FaceStatus } from './faces/types';
import type { FaceInfo, PersonDetails, PersonSummary, Suggestion } from './faces/types';

export interface PeopleListResult {
  people: Array<PersonSummary & { root: string }>;
}
export const PeopleListRequest = new RequestType<RootParams & { includeClusters?: boolean }, PeopleListResult, void>('people/list');
export const PeopleGetRequest = new RequestType<{ root: string; personId: number }, PersonDetails, void>('people/get');
/** Names a person or cluster (confirming its faces); with `faceId` instead, names that one face. */
export const PeopleNameRequest = new RequestType<{ root: string; personId?: number; faceId?: number; name: string }, PersonSummary, void>('people/name');
export const PeopleMergeRequest = new RequestType<{ root: string; sourceIds: number[]; targetId: number }, PersonSummary, void>('people/merge');
export const PeopleSplitRequest = new RequestType<{ root: string; personId: number; faceIds: number[]; name?: string }, PersonSummary, void>('people/split');
/** Moves a face to a person (a confirmation). */
export const FacesAssignRequest = new RequestType<{ root: string; faceId: number; personId: number }, PersonSummary, void>('faces/assign');
/** "Not this person": remembered, the face never returns to that person. */
export const FacesRejectRequest = new RequestType<{ root: string; faceId: number; personId?: number }, FaceInfo, void>('faces/reject');
export const FacesSuggestionsRequest = new RequestType<{ root: string; personId?: number; limit?: number; minConfidence?: number }, { suggestions: Suggestion[] }, void>('faces/suggestions');
/** A square crop around one face (cached WebP), for face tiles. */
export const FacesCropRequest = new RequestType<{ root: string; faceId: number }, { thumbnail: string }, void>('faces/crop');
/** Privacy: deletes every face, person and decision of a root and turns face detection off for it. */
export const FacesDeleteAllRequest = new RequestType<{ root: string }, { faces: number; people: number; decisions: number }, void>('faces/deleteAll');

// ---- semantic search (CLIP) ----

export interface SemanticModelInfo {
  id: string;
  name: string;
  /** Bytes the model's files take (approximate where not pinned). */
  bytes: number;
  downloaded: boolean;
  /** Average recall in Immich's published CLIP table, where known. */
  averageRecall: number | null;
  /** Queries in other languages than English work (false for the default model). */
  multilingual: boolean;
}

export interface SemanticRootStatus {
  root: string;
  /** Indexed images, and how many of them have an embedding of the chosen model. */
  images: number;
  embedded: number;
}

export interface SemanticStatusResult {
  /** The model is on this machine: indexing embeds images and search uses it. */
  enabled: boolean;
  modelId: string;
  modelName: string | null;
  downloaded: boolean;
  /** What `semantic/enable` would download now, in bytes (0 when downloaded). */
  bytesToDownload: number;
  /** Why semantic search is off or limited, in words for the user; null when all is well. */
  note: string | null;
  roots: SemanticRootStatus[];
  /** The CLIP models one can choose. */
  models: SemanticModelInfo[];
}
export const SemanticStatusRequest = new RequestType<RootParams, SemanticStatusResult, void>('semantic/status');

export interface SemanticEnableParams {
  /** Manifest id of the CLIP model; default: the current choice. */
  model?: string;
  /** LSP work-done token for download progress ($/progress); cancel with $/cancelRequest or window/workDoneProgress/cancel. */
  workDoneToken?: string | number;
}
export interface SemanticEnableResult {
  modelId: string;
  /** Bytes fetched by this call (0 when every file was already here). */
  downloadedBytes: number;
  /** Roots where an index run started to embed the images. */
  started: string[];
}
export const SemanticEnableRequest = new RequestType<SemanticEnableParams, SemanticEnableResult, void>('semantic/enable');

/** Every request and notification method, for the docs check and the method table. */
export const METHODS = {
  requests: [
    InitializeRequest.method,
    ShutdownRequest.method,
    IndexStatusRequest.method,
    IndexRescanRequest.method,
    IndexCancelRequest.method,
    IndexErrorsRequest.method,
    SearchRequest.method,
    SimilarRequest.method,
    AssetGetRequest.method,
    AssetByPathRequest.method,
    ThumbnailPathRequest.method,
    OcrSearchRequest.method,
    DuplicatesListRequest.method,
    DuplicatesResolveRequest.method,
    DuplicatesUndoRequest.method,
    DuplicatesDismissRequest.method,
    DuplicatesHistoryRequest.method,
    FilesTrashRequest.method,
    FilesRestoreRequest.method,
    PeopleListRequest.method,
    PeopleGetRequest.method,
    PeopleNameRequest.method,
    PeopleMergeRequest.method,
    PeopleSplitRequest.method,
    FacesAssignRequest.method,
    FacesRejectRequest.method,
    FacesSuggestionsRequest.method,
    FacesCropRequest.method,
    FacesDeleteAllRequest.method,
    SemanticStatusRequest.method,
    SemanticEnableRequest.method,
    TransformPreviewRequest.method,
    TransformApplyRequest.method,
    TransformUndoRequest.method,
  ],
  clientNotifications: [AuthNotification.method, 'initialized', 'exit', '$/cancelRequest'],
  serverNotifications: [IndexChangedNotification.method, '$/progress'],
  serverRequests: ['window/workDoneProgress/create'],
} as const;
