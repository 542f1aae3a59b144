/**
 * An in-memory word index over small documents (file names, folder paths), so a query finds its
 * matches without looking at every row:
 *   - exact words, plurals folded (`singular`): a map from singular form to vocabulary words;
 *   - word prefixes: the vocabulary bucketed by its first two characters;
 *   - substrings of the raw lower-cased text (across camelCase boundaries too, "woodanem" in
 *     "WoodAnemones"): trigram -> documents, verified with `includes`.
 * Documents are small integers chosen by the caller (the engine's row slots, folder ids). Lookups
 * hand out posting lists for the caller to loop over (no callback per document in the hot path).
 */
import { pathWords, singular } from './filename-match';

const NO_IDS: readonly number[] = [];

/** A posting list: an array while it grows; `commit(true)` packs long ones into Int32Arrays (half the memory). */
export type Postings = number[] | Int32Array;

function growable(list: Postings): number[] {
  return Array.isArray(list) ? list : Array.from(list);
}

function pack(list: Postings): Postings {
  if (!Array.isArray(list)) return list;
  return list.length >= 16 ? Int32Array.from(list) : list.slice();
}

/**
 * `list` without the documents marked 1 in `dead` (the same list when none is); keeps its kind.
 * `dead` may be shorter than the largest document: beyond its end nothing is marked.
 */
function without(list: Postings, dead: Uint8Array): Postings {
  let kept = 0;
  for (let i = 0; i < list.length; i++) if (dead[list[i]] !== 1) kept++;
  if (kept === list.length) return list;
  if (Array.isArray(list)) return list.filter((d) => dead[d] !== 1);
  const out = new Int32Array(kept);
  let j = 0;
  for (let i = 0; i < list.length; i++) if (dead[list[i]] !== 1) out[j++] = list[i];
  return out;
}

function trigramKey(text: string, i: number): number {
  const a = text.charCodeAt(i);
  const b = text.charCodeAt(i + 1);
  const c = text.charCodeAt(i + 2);
  // Latin-1 trigrams pack into a small integer (fast Map keys); others into a larger exact double.
  return a < 256 && b < 256 && c < 256 ? (a << 16) | (b << 8) | c : 2 ** 40 + a * 2 ** 32 + b * 2 ** 16 + c;
}

export class TextIndex {
  /** Stale trigram entries tolerated before a rebuild (at least; or a quarter of all entries). */
  static rebuildMinStale = 50_000;

  /** Per document: the lower-cased raw text (substring matches) and its words joined by spaces (phrases). */
  readonly texts: string[] = [];
  readonly wordsTexts: string[] = [];

  private readonly vocab: string[] = [];
  private readonly postings: Postings[] = [];
  private readonly freeVocab: number[] = [];
  private readonly byWord = new Map<string, number>();
  /** Singular form -> vocabulary id, or ids when several words share it ("box", "boxes"). */
  private readonly bySingular = new Map<string, number | number[]>();
  /**
   * Vocabulary ids by the first two characters of their word (one-character words by that
   * character): a prefix lookup reads one bucket; an update touches one bucket, never the whole
   * vocabulary (which, with numbered file names, is about as large as the library).
   */
  private readonly buckets = new Map<string, number[]>();
  private readonly trigrams = new Map<number, Postings>();
  /**
   * Trigram lists are not cleaned when documents leave (common trigrams list most documents, and
   * candidates are verified against `texts` anyway): they are rebuilt once stale entries pile up.
   */
  private trigramEntries = 0;
  private staleTrigramEntries = 0;
  /** Scratch: 1 for the documents being removed. */
  private dead = new Uint8Array(0);

  /**
   * Indexes a document: `lower` is its lower-cased raw text, `words` its words (see `pathWords`).
   * A document is added once (remove it before adding it again).
   */
  add(doc: number, lower: string, words: readonly string[]): void {
    const wordsText = words.join(' ');
    this.texts[doc] = lower;
    // Most names are one word or already "words joined by spaces": share the string then.
    this.wordsTexts[doc] = wordsText === lower ? lower : wordsText;
    for (const w of words) {
      let v = this.byWord.get(w);
      if (v === undefined) v = this.newWord(w);
      const list = this.postings[v];
      if (list[list.length - 1] !== doc) {
        if (Array.isArray(list)) list.push(doc);
        else (this.postings[v] = growable(list)).push(doc);
      }
    }
    this.addTrigrams(doc, lower);
  }

  private addTrigrams(doc: number, lower: string): void {
    for (let i = 0; i + 3 <= lower.length; i++) {
      const key = trigramKey(lower, i);
      const list = this.trigrams.get(key);
      if (!list) this.trigrams.set(key, [doc]);
      else if (list[list.length - 1] !== doc) {
        if (Array.isArray(list)) list.push(doc);
        else this.trigrams.set(key, [...list, doc]);
      } else continue;
      this.trigramEntries++;
    }
  }

  /** Unindexes documents (one pass over each affected word's posting list). */
  remove(docs: readonly number[]): void {
    if (docs.length === 0) return;
    let max = 0;
    for (const d of docs) if (d > max) max = d;
    if (this.dead.length <= max) this.dead = new Uint8Array(Math.max(max + 1, this.dead.length * 2));
    const dead = this.dead;
    const words = new Set<number>();
    for (const doc of docs) {
      if (dead[doc] === 1) continue;
      dead[doc] = 1;
      const wordsText = this.wordsTexts[doc] ?? '';
      if (wordsText !== '') {
        for (const w of wordsText.split(' ')) {
          const v = this.byWord.get(w);
          if (v !== undefined) words.add(v);
        }
      }
      this.staleTrigramEntries += Math.max(0, (this.texts[doc] ?? '').length - 2);
      this.texts[doc] = '';
      this.wordsTexts[doc] = '';
    }
    for (const v of words) {
      const kept = without(this.postings[v], dead);
      if (kept.length > 0) this.postings[v] = kept;
      else this.dropWord(v);
    }
    for (const doc of docs) dead[doc] = 0;
    if (this.staleTrigramEntries > Math.max(TextIndex.rebuildMinStale, this.trigramEntries / 4)) this.rebuildTrigrams();
  }

  /** Rebuilds the trigram lists from the live texts (drops stale entries). */
  private rebuildTrigrams(): void {
    this.trigrams.clear();
    this.trigramEntries = 0;
    this.staleTrigramEntries = 0;
    for (let doc = 0; doc < this.texts.length; doc++) {
      const text = this.texts[doc];
      if (text) this.addTrigrams(doc, text);
    }
    for (const [key, list] of this.trigrams) this.trigrams.set(key, pack(list));
  }

  /** Call after a batch of add/remove. `compact` (after a big batch) packs the long posting lists. */
  commit(compact = false): void {
    if (compact) {
      // Long lists become Int32Arrays; short ones stay arrays (a typed array's own overhead is larger)
      // but trimmed: an array grown by push keeps room for 16 or more entries, and most words (the
      // numbers in camera file names) are in one document.
      for (let v = 0; v < this.postings.length; v++) this.postings[v] = pack(this.postings[v]);
      for (const [key, list] of this.trigrams) this.trigrams.set(key, pack(list));
    }
  }

  get vocabularySize(): number {
    return this.byWord.size;
  }

  /** Documents containing vocabulary word `v`. */
  docsOf(v: number): ArrayLike<number> {
    return this.postings[v];
  }

  /** Vocabulary words equal to `term` up to plurals (`singular(word) === singular(term)`). */
  exactWords(term: string): readonly number[] {
    const ids = this.bySingular.get(singular(term));
    return ids === undefined ? NO_IDS : typeof ids === 'number' ? [ids] : ids;
  }

  /** Vocabulary words starting with `prefix` (including the word itself). */
  prefixWords(prefix: string): number[] {
    const out: number[] = [];
    const scan = (bucket: readonly number[]) => {
      for (const v of bucket) if (this.vocab[v].startsWith(prefix)) out.push(v);
    };
    if (prefix.length >= 2) {
      const bucket = this.buckets.get(prefix.slice(0, 2));
      if (bucket) scan(bucket);
    } else {
      for (const [key, bucket] of this.buckets) if (key.startsWith(prefix)) scan(bucket);
    }
    return out;
  }

  /**
   * Documents whose raw text may contain `needle` (3+ characters): the shortest posting list among its
   * trigrams. Callers verify with `texts[doc].includes(needle)`. Empty when some trigram never occurs.
   */
  substringCandidates(needle: string): ArrayLike<number> {
    let best: Postings | undefined;
    for (let i = 0; i + 3 <= needle.length; i++) {
      const list = this.trigrams.get(trigramKey(needle, i));
      if (!list) return NO_IDS;
      if (!best || list.length < best.length) best = list;
    }
    return best ?? NO_IDS;
  }

  private newWord(w: string): number {
    const v = this.freeVocab.pop() ?? this.vocab.length;
    this.vocab[v] = w;
    this.postings[v] = [];
    this.byWord.set(w, v);
    const key = singular(w);
    const same = this.bySingular.get(key);
    if (same === undefined) this.bySingular.set(key, v);
    else if (typeof same === 'number') this.bySingular.set(key, [same, v]);
    else same.push(v);
    const key2 = w.slice(0, 2);
    const bucket = this.buckets.get(key2);
    if (bucket) bucket.push(v);
    else this.buckets.set(key2, [v]);
    return v;
  }

  private dropWord(v: number): void {
    const w = this.vocab[v];
    this.byWord.delete(w);
    const key = singular(w);
    const same = this.bySingular.get(key)!;
    const rest = typeof same === 'number' ? [] : same.filter((x) => x !== v);
    if (rest.length > 1) this.bySingular.set(key, rest);
    else if (rest.length === 1) this.bySingular.set(key, rest[0]);
    else this.bySingular.delete(key);
    const key2 = w.slice(0, 2);
    const bucket = this.buckets.get(key2)!;
    const at = bucket.indexOf(v);
    bucket[at] = bucket[bucket.length - 1];
    bucket.pop();
    if (bucket.length === 0) this.buckets.delete(key2);
    this.vocab[v] = '';
    this.postings[v] = [];
    this.freeVocab.push(v);
  }


}

/** The file name without its extension: what file-name words and substrings are matched against. */
export function fileStem(relPath: string): string {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  return name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name;
}

export { pathWords };
