import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The CLIP byte-level BPE tokenizer (OpenAI CLIP, OpenCLIP, MobileCLIP share it), read from a
 * Hugging Face `tokenizer.json` or from OpenAI's `bpe_simple_vocab_16e6.txt.gz`. It reproduces the
 * Hugging Face CLIPTokenizerFast pipeline that Immich's exports use, id for id:
 *   NFC, runs of whitespace -> one space, lower-case; split into letter runs, single digits, runs of
 *   other non-space characters and the contractions 's 't 're 've 'm 'll 'd; map UTF-8 bytes to
 *   printable characters (GPT-2's byte table); BPE by merge rank with "</w>" ending each word;
 *   then <|startoftext|> ... <|endoftext|>, truncated to the context length (the end token is kept)
 *   and padded.
 * OpenAI's Python tokenizer also runs ftfy and HTML-unescapes; that only matters for mojibake and
 * "&amp;"-style text, which queries typed by a person do not contain.
 */

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';
export const DEFAULT_CONTEXT_LENGTH = 77;

const WORD_SUFFIX = '</w>';
/** CLIP's pre-tokenizer (also the one in tokenizer.json); `u` for \p{..} classes. */
const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;
/** Merges in the gz vocabulary: lines 1 .. 49152-256-2 (line 0 is a version header). */
const GZ_MERGES = 49152 - 256 - 2;

/** GPT-2's reversible map from bytes to printable unicode characters. */
function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return table;
}

const BYTE_CHARS = byteToUnicode();

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

export interface TokenizeOptions {
  /** Length of the returned ids (default: the tokenizer's context length). */
  contextLength?: number;
}

export class ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  private readonly cache = new Map<string, number[]>();

  private constructor(
    private readonly vocab: Map<string, number>,
    /** "left right" -> merge rank (lower merges first). */
    private readonly ranks: Map<string, number>,
    readonly contextLength: number,
    readonly padId: number,
  ) {
    const s = vocab.get(START_OF_TEXT);
    const e = vocab.get(END_OF_TEXT);
    if (s === undefined || e === undefined) throw new TokenizerError('the vocabulary has no <|startoftext|>/<|endoftext|> tokens');
    this.startId = s;
    this.endId = e;
  }

  /**
   * From a Hugging Face tokenizer.json (BPE model with vocab and merges). `padToken` is the
   * tokenizer_config.json pad token when there is one (Immich's OpenCLIP exports pad with
   * <|endoftext|>); without it padding is id 0 like OpenAI's `clip.tokenize`.
   */
  static fromTokenizerJson(json: string | Buffer, options: { contextLength?: number; padToken?: string | null } = {}): ClipTokenizer {
    let parsed: { model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> }; added_tokens?: Array<{ id: number; content: string }> };
    try {
      parsed = JSON.parse(typeof json === 'string' ? json : json.toString('utf8'));
    } catch (err) {
      throw new TokenizerError(`tokenizer.json is not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const model = parsed.model;
    if (!model || model.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) throw new TokenizerError('tokenizer.json has no BPE model with vocab and merges');
    const vocab = new Map(Object.entries(model.vocab));
    for (const t of parsed.added_tokens ?? []) vocab.set(t.content, t.id);
    const ranks = new Map<string, number>();
    model.merges.forEach((m, i) => ranks.set(Array.isArray(m) ? `${m[0]} ${m[1]}` : m, i));
    const padId = options.padToken ? vocab.get(options.padToken) ?? 0 : 0;
    return new ClipTokenizer(vocab, ranks, options.contextLength ?? DEFAULT_CONTEXT_LENGTH, padId);
  }

  /** From OpenAI's bpe_simple_vocab_16e6.txt.gz (the vocabulary is rebuilt the way CLIP builds it). */
  static fromBpeGz(gz: Buffer, options: { contextLength?: number } = {}): ClipTokenizer {
    const lines = gunzipSync(gz).toString('utf8').split('\n').slice(1, GZ_MERGES + 1);
    if (lines.length !== GZ_MERGES) throw new TokenizerError(`the BPE vocabulary has ${lines.length} merges, expected ${GZ_MERGES}`);
    // CLIP lists the byte characters printable bytes first, then the others (GPT-2's table order).
    const ordered = [...BYTE_CHARS].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    const tokens: string[] = [...ordered, ...ordered.map((c) => c + WORD_SUFFIX)];
    const ranks = new Map<string, number>();
    lines.forEach((line, i) => {
      ranks.set(line, i);
      tokens.push(line.replace(' ', ''));
    });
    tokens.push(START_OF_TEXT, END_OF_TEXT);
    return new ClipTokenizer(new Map(tokens.map((t, i) => [t, i])), ranks, options.contextLength ?? DEFAULT_CONTEXT_LENGTH, 0);
  }

  static fromFile(path: string, options: { contextLength?: number; padToken?: string | null } = {}): ClipTokenizer {
    const data = readFileSync(path);
    return path.endsWith('.gz') ? ClipTokenizer.fromBpeGz(data, options) : ClipTokenizer.fromTokenizerJson(data, options);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** Text as the model sees it before BPE (HF normalizer: NFC, whitespace runs -> " ", lower-case). */
  static normalize(text: string): string {
    return text.normalize('NFC').replace(/\s+/gu, ' ').toLowerCase();
  }

  /** BPE ids of the text, without start/end tokens, padding or truncation. */
  encodeText(text: string): number[] {
    const out: number[] = [];
    // Special tokens typed in the text stay special (as in HF): <|endoftext|> is matched before
    // normalisation, <|startoftext|> after it.
    for (const part of text.split(END_OF_TEXT).flatMap((p, i) => (i === 0 ? [p] : [END_OF_TEXT, p]))) {
      if (part === END_OF_TEXT) {
        out.push(this.endId);
        continue;
      }
      const normal = ClipTokenizer.normalize(part);
      normal.split(START_OF_TEXT).forEach((piece, i) => {
        if (i > 0) out.push(this.startId);
        for (const m of piece.matchAll(SPLIT)) out.push(...this.bpeWord(m[0]));
      });
    }
    return out;
  }

  /** Ids of one query: [start, ...text (truncated), end, pad...], exactly `contextLength` long. */
  tokenize(text: string, options: TokenizeOptions = {}): number[] {
    const length = options.contextLength ?? this.contextLength;
    if (length < 2) throw new TokenizerError(`context length ${length} is too short`);
    const body = this.encodeText(text).slice(0, length - 2);
    const ids = [this.startId, ...body, this.endId];
    while (ids.length < length) ids.push(this.padId);
    return ids;
  }

  /** Int32 [n, contextLength] for a batch of texts (the text encoders' "text" input). */
  tokenizeBatch(texts: readonly string[], options: TokenizeOptions = {}): Int32Array {
    const length = options.contextLength ?? this.contextLength;
    const out = new Int32Array(texts.length * length);
    texts.forEach((t, i) => out.set(this.tokenize(t, { contextLength: length }), i * length));
    return out;
  }

  private bpeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let symbols: string[] = [];
    for (const byte of Buffer.from(word, 'utf8')) symbols.push(BYTE_CHARS[byte]);
    symbols[symbols.length - 1] += WORD_SUFFIX;
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const r = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of the best pair, left to right.
      const a = symbols[best];
      const b = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i]);
      }
      symbols = merged;
    }
    const ids = symbols.map((s) => {
      const id = this.vocab.get(s);
      // Cannot happen with a consistent vocabulary (every byte is a token); unk = <|endoftext|> as in HF.
      return id === undefined ? this.endId : id;
    });
    if (this.cache.size > 20_000) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }
}
