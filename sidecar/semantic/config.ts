import { readFileSync } from 'node:fs';
import type { ModelEntry } from '../models/manifest';

export type Interpolation = 'bicubic' | 'bilinear' | 'nearest' | 'lanczos';
export type ResizeMode = 'shortest' | 'squash';

/** Everything needed to feed one CLIP-family model, merged from the manifest and the model's own config files. */
export interface ClipConfig {
  modelId: string;
  /** Square input side of the image tower. */
  imageSize: number;
  mean: [number, number, number];
  std: [number, number, number];
  interpolation: Interpolation;
  /** 'shortest': short side to imageSize, then centre crop (OpenCLIP); 'squash': stretch to a square. */
  resizeMode: ResizeMode;
  contextLength: number;
  /** Pad token of the text tower (tokenizer_config.json), null: id 0. */
  padToken: string | null;
  imageInput: string;
  textInput: string;
  textInputType: 'int32' | 'int64';
  /**
   * Cosine below which an image is not shown for a text query. Real CLIP text-image cosines sit
   * around 0.15-0.35; without weights on this machine the default is an educated guess, a setting.
   */
  minSimilarity: number;
  /** Keep only images within this much of the best match (the "stop at a threshold" cut). */
  maxGapFromBest: number;
}

/** Manifest `preprocessing` of a CLIP entry (task "clip"); the model folder's config files override it. */
export interface ClipManifestPreprocessing {
  imageSize?: number;
  mean?: number[];
  std?: number[];
  interpolation?: Interpolation;
  resizeMode?: ResizeMode;
  contextLength?: number;
  imageInput?: string;
  textInput?: string;
  textInputType?: 'int32' | 'int64';
  minSimilarity?: number;
  maxGapFromBest?: number;
  /** Manifest id of the model that holds the tokenizer when the model folder has none. */
  tokenizerModel?: string;
}

/** Where each part of a CLIP model lives inside its folder (Immich's Hugging Face layout). */
export const CLIP_FILES = {
  config: 'config.json',
  visual: 'visual/model.onnx',
  preprocess: 'visual/preprocess_cfg.json',
  textual: 'textual/model.onnx',
  tokenizer: 'textual/tokenizer.json',
  tokenizerConfig: 'textual/tokenizer_config.json',
} as const;

export type ClipPart = keyof typeof CLIP_FILES;

export const OPENAI_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_STD: [number, number, number] = [0.26862954, 0.2613026, 0.2757771];

export class ClipConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClipConfigError';
  }
}

/** The absolute path of a part among a model's resolved files (manifest path -> absolute path), or null. */
export function partPath(files: Record<string, string>, part: ClipPart): string | null {
  const suffix = CLIP_FILES[part];
  for (const [rel, abs] of Object.entries(files)) if (rel === suffix || rel.endsWith(`/${suffix}`)) return abs;
  return null;
}

function readJson(path: string | null): Record<string, unknown> | null {
  if (!path) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch (err) {
    throw new ClipConfigError(`${path} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function triple(v: unknown, what: string): [number, number, number] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as [number, number, number];
  throw new ClipConfigError(`${what} must be three numbers`);
}

function interpolation(v: unknown): Interpolation | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v).toLowerCase();
  if (s === 'bicubic' || s === 'bilinear' || s === 'nearest' || s === 'lanczos') return s;
  throw new ClipConfigError(`unsupported interpolation "${s}"`);
}

function resizeMode(v: unknown): ResizeMode | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'shortest' || v === 'squash') return v;
  throw new ClipConfigError(`unsupported resize_mode "${String(v)}" (shortest or squash)`);
}

/**
 * Merges the manifest's preprocessing with the model folder's config.json (embed/image size,
 * context length), visual/preprocess_cfg.json (size, mean, std, interpolation, resize_mode) and
 * textual/tokenizer_config.json (pad token). The folder's files win: they describe the export.
 */
export function loadClipConfig(entry: ModelEntry, files: Record<string, string>): ClipConfig {
  const pre = entry.preprocessing as ClipManifestPreprocessing;
  const model = readJson(partPath(files, 'config'));
  const visual = readJson(partPath(files, 'preprocess'));
  const tokenizerCfg = readJson(partPath(files, 'tokenizerConfig'));
  const visionCfg = (model?.vision_cfg ?? {}) as Record<string, unknown>;
  const textCfg = (model?.text_cfg ?? {}) as Record<string, unknown>;
  const size = visual?.size ?? visionCfg.image_size ?? pre.imageSize;
  const imageSize = Array.isArray(size) ? Number(size[0]) : Number(size);
  if (!Number.isInteger(imageSize) || imageSize < 8) throw new ClipConfigError(`model ${entry.id}: no usable image size`);
  const contextLength = Number(textCfg.context_length ?? pre.contextLength ?? 77);
  if (!Number.isInteger(contextLength) || contextLength < 2) throw new ClipConfigError(`model ${entry.id}: bad context length`);
  const pad = tokenizerCfg?.pad_token;
  return {
    modelId: entry.id,
    imageSize,
    mean: triple(visual?.mean, 'mean') ?? triple(pre.mean, 'mean') ?? OPENAI_MEAN,
    std: triple(visual?.std, 'std') ?? triple(pre.std, 'std') ?? OPENAI_STD,
    interpolation: interpolation(visual?.interpolation) ?? pre.interpolation ?? 'bicubic',
    resizeMode: resizeMode(visual?.resize_mode) ?? pre.resizeMode ?? 'shortest',
    contextLength,
    padToken: typeof pad === 'string' ? pad : pad && typeof pad === 'object' && typeof (pad as { content?: unknown }).content === 'string' ? (pad as { content: string }).content : null,
    imageInput: pre.imageInput ?? 'image',
    textInput: pre.textInput ?? 'text',
    textInputType: pre.textInputType ?? 'int32',
    minSimilarity: pre.minSimilarity ?? 0.2,
    maxGapFromBest: pre.maxGapFromBest ?? 0.08,
  };
}
