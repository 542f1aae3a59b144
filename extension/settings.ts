/**
 * The extension's settings (`contributes.configuration` in package.json) as one typed value, and how
 * they become the sidecar's command line and environment. Pure: extension.ts reads the values.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_EXCLUDES } from '../sidecar/scan/ignore-rules';

export type AnalyzerName = 'tags' | 'faces' | 'ocr' | 'clip';
export const ANALYZER_NAMES: readonly AnalyzerName[] = ['tags', 'faces', 'ocr', 'clip'];

export interface LoupeSettings {
  /** Folders to index, relative to a workspace folder or absolute; empty = every workspace folder. */
  roots: string[];
  /** Extra glob patterns to skip (added to node_modules, .git and .loupe). */
  exclude: string[];
  analyzers: Record<AnalyzerName, boolean>;
  clipModel: string;
  /** Where model files are looked for before the cache and the download. */
  modelsFolder: string;
  /** Threads per model session; 0 = automatic. */
  threads: number;
  /** Minutes without a client before the sidecar exits; 0 = never. */
  idleShutdownMinutes: number;
  thumbnailSize: number;
}

export const DEFAULT_SETTINGS: LoupeSettings = {
  roots: [],
  exclude: [],
  analyzers: { tags: true, faces: true, ocr: true, clip: true },
  clipModel: 'ViT-B-32__laion2b-s34b-b79k',
  modelsFolder: '',
  threads: 0,
  idleShutdownMinutes: 0,
  thumbnailSize: 256,
};

/** Reads settings through a getter shaped like `WorkspaceConfiguration.get`, clamping bad values. */
export function readSettings(get: <T>(key: string) => T | undefined): LoupeSettings {
  const d = DEFAULT_SETTINGS;
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '') : []);
  const int = (v: unknown, fallback: number, min: number, max: number): number =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
  const bool = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : fallback);
  return {
    roots: strings(get('roots')),
    exclude: strings(get('exclude')),
    analyzers: {
      tags: bool(get('analyzers.tags'), d.analyzers.tags),
      faces: bool(get('analyzers.faces'), d.analyzers.faces),
      ocr: bool(get('analyzers.ocr'), d.analyzers.ocr),
      clip: bool(get('analyzers.clip'), d.analyzers.clip),
    },
    clipModel: (get<string>('clip.model') ?? '').trim() || d.clipModel,
    modelsFolder: (get<string>('modelsFolder') ?? '').trim(),
    threads: int(get('threads'), d.threads, 0, 64),
    idleShutdownMinutes: int(get('idleShutdownMinutes'), d.idleShutdownMinutes, 0, 24 * 60),
    thumbnailSize: int(get('thumbnailSize'), d.thumbnailSize, 64, 1024),
  };
}

/** The folders the sidecar serves: the configured roots resolved against each workspace folder. */
export function resolveRoots(settings: LoupeSettings, workspaceFolders: readonly string[]): string[] {
  if (settings.roots.length === 0) return [...new Set(workspaceFolders)];
  const out: string[] = [];
  for (const r of settings.roots) {
    if (isAbsolute(r)) out.push(resolve(r));
    else for (const w of workspaceFolders) out.push(resolve(join(w, r)));
  }
  return [...new Set(out)];
}

/** `loupe serve` arguments and environment for these settings. */
export function serveCommand(settings: LoupeSettings, roots: readonly string[], parentPid: number): { args: string[]; env: Record<string, string> } {
  const args = ['serve', ...roots.flatMap((r) => ['--root', r]), '--parent-pid', String(parentPid)];
  if (settings.exclude.length > 0) {
    for (const e of [...DEFAULT_EXCLUDES, ...settings.exclude]) args.push('--exclude', e);
  }
  if (settings.idleShutdownMinutes > 0) args.push('--idle-timeout', String(settings.idleShutdownMinutes));
  const env: Record<string, string> = {
    LOUPE_ANALYZERS: ANALYZER_NAMES.filter((a) => settings.analyzers[a]).join(',') || 'none',
    LOUPE_CLIP_MODEL: settings.clipModel,
    LOUPE_THUMBNAIL_SIZE: String(settings.thumbnailSize),
  };
  if (settings.modelsFolder) env.LOUPE_MODELS_DIR = settings.modelsFolder;
  if (settings.threads > 0) env.LOUPE_INTRA_OP_THREADS = String(settings.threads);
  return { args, env };
}

/** Settings whose change needs a sidecar restart (all of them today: they are start-up arguments). */
export function restartNeeded(before: LoupeSettings, after: LoupeSettings): boolean {
  return JSON.stringify(before) !== JSON.stringify(after);
}
