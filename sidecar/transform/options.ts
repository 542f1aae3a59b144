/**
 * What an optimisation does to an image: the options shared by preview, apply, the RPC and the
 * CLI, with their validation. Everything is optional; the defaults make a web-ready copy.
 */

export type OutputFormat = 'webp' | 'avif' | 'jpeg' | 'png' | 'gif';

/** Long-edge presets offered by the UI (pixels). */
export const SIZE_PRESETS = [3840, 2560, 1920, 1280, 640] as const;

export interface EnhanceOptions {
  /** Stretch the levels so the darkest 1% is black and the brightest 1% white (auto-level/contrast). */
  autoLevel?: boolean;
  /** Unsharp-mask strength, 0 (off) .. 1 (about as far as a photo takes before halos); 0.3 is mild. */
  sharpen?: number;
  /** Median-filter denoise, 0 (off) .. 1; removes speckle, softens fine texture. */
  denoise?: number;
  /** Colour saturation multiplier: 1 unchanged, 0 grey, 1.2 a little more vivid (max 2). */
  saturation?: number;
}

export interface TransformOptions {
  /** Fit inside these bounds (aspect ratio kept). */
  maxWidth?: number;
  maxHeight?: number;
  /** Enlarge images smaller than the bounds (Lanczos); otherwise they keep their size. */
  upscale?: boolean;
  /** Output format; default: the source format (GIF stays GIF, everything else not web-ready becomes JPEG or PNG). */
  format?: OutputFormat;
  /** 1..100; defaults per format (WebP 80, AVIF 55, JPEG 80, PNG palette 90). */
  quality?: number;
  /** Metadata: 'strip' (default: nothing but the pixels, orientation applied) or 'keep'. */
  metadata?: 'strip' | 'keep';
  /** With metadata 'keep': keep GPS position too. Off by default: published images should not carry where they were taken. */
  keepGps?: boolean;
  /** Background for images with transparency going to JPEG (CSS hex colour, default white). */
  background?: string;
  /** PNG output: quantise to a palette (default true; much smaller, lossy). */
  palette?: boolean;
  /** Animated sources: 'keep' (WebP/GIF output only) or 'first-frame'. Default 'keep': other outputs are refused. */
  animation?: 'keep' | 'first-frame';
  enhance?: EnhanceOptions;
}

export class TransformError extends Error {
  constructor(
    message: string,
    /** Machine-readable reason: 'invalid_options', 'animated', 'exists', 'read_only', 'unreadable', 'outside_root', 'failed'. */
    readonly code: string = 'failed',
  ) {
    super(message);
    this.name = 'TransformError';
  }
}

const FORMATS: readonly OutputFormat[] = ['webp', 'avif', 'jpeg', 'png', 'gif'];

export const DEFAULT_QUALITY: Record<OutputFormat, number> = { webp: 80, avif: 55, jpeg: 80, png: 90, gif: 100 };

export const EXTENSIONS: Record<OutputFormat, string> = { webp: 'webp', avif: 'avif', jpeg: 'jpg', png: 'png', gif: 'gif' };

function bad(message: string): never {
  throw new TransformError(message, 'invalid_options');
}

function num(v: unknown, name: string, min: number, max: number, integer = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    bad(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return v;
}

function bool(v: unknown, name: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') bad(`${name} must be true or false`);
  return v;
}

/** Checks options from a client (untrusted JSON) and returns a clean copy; throws TransformError. */
export function parseOptions(raw: unknown): TransformOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) bad('options must be an object');
  const o = raw as Record<string, unknown>;
  const known = new Set(['maxWidth', 'maxHeight', 'upscale', 'format', 'quality', 'metadata', 'keepGps', 'background', 'palette', 'animation', 'enhance']);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(`unknown option "${k}"`);
  const out: TransformOptions = {
    maxWidth: num(o.maxWidth, 'maxWidth', 1, 100_000, true),
    maxHeight: num(o.maxHeight, 'maxHeight', 1, 100_000, true),
    upscale: bool(o.upscale, 'upscale'),
    quality: num(o.quality, 'quality', 1, 100, true),
    keepGps: bool(o.keepGps, 'keepGps'),
    palette: bool(o.palette, 'palette'),
  };
  if (o.format !== undefined && o.format !== null) {
    const f = String(o.format).toLowerCase().replace(/^jpg$/, 'jpeg');
    if (!(FORMATS as readonly string[]).includes(f)) bad(`format must be one of ${FORMATS.join(', ')}`);
    out.format = f as OutputFormat;
  }
  if (o.metadata !== undefined && o.metadata !== null) {
    if (o.metadata !== 'strip' && o.metadata !== 'keep') bad('metadata must be "strip" or "keep"');
    out.metadata = o.metadata;
  }
  if (o.animation !== undefined && o.animation !== null) {
    if (o.animation !== 'keep' && o.animation !== 'first-frame') bad('animation must be "keep" or "first-frame"');
    out.animation = o.animation;
  }
  if (o.background !== undefined && o.background !== null) {
    if (typeof o.background !== 'string' || !/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(o.background)) bad('background must be a colour such as #ffffff');
    out.background = o.background;
  }
  if (o.enhance !== undefined && o.enhance !== null) {
    if (typeof o.enhance !== 'object' || Array.isArray(o.enhance)) bad('enhance must be an object');
    const e = o.enhance as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!['autoLevel', 'sharpen', 'denoise', 'saturation'].includes(k)) bad(`unknown enhance option "${k}"`);
    out.enhance = {
      autoLevel: bool(e.autoLevel, 'enhance.autoLevel'),
      sharpen: num(e.sharpen, 'enhance.sharpen', 0, 1),
      denoise: num(e.denoise, 'enhance.denoise', 0, 1),
      saturation: num(e.saturation, 'enhance.saturation', 0, 2),
    };
  }
  return out;
}

/** The long-edge preset as bounds: 1920 means neither side above 1920. */
export function presetBounds(longEdge: number): Pick<TransformOptions, 'maxWidth' | 'maxHeight'> {
  return { maxWidth: longEdge, maxHeight: longEdge };
}
