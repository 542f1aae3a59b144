/**
 * An in-memory word index over small documents (file names, folder paths), so a query finds its
 * matches without looking at every row:
 *   - exact words, plurals folded (`singular`): a map from singular form to vocabulary words;
 *   - word prefixes: the vocabulary sorted, searched by binary search;
 *   - substrings of the raw lower-cased text (across camelCase boundaries too, "woodanem" in
 *     "WoodAnemones"): trigram -> documents, verified with `includes`.
 * Documents are small integers chosen by the caller (the engine's row slots, folder ids). Lookups
 * hand out posting lists for the caller to loop over (no callback per document in the hot path).
 */
import { pathWords, singular } from './filename-match';

const NO_IDS: readonly number[] = [];

/** A posting list: an array while it grows, packed into an Int32Array by `compact` (half the memory). */
export type Postings = number[] | Int32Array;

function growable(list: Postings): number[] {
  return Array.isArray(list) ? list : Array.from(list);
}

function trigramKey(text: string, i: number): number {
  const a = text.charCodeAt(i);
  const b = text.charCodeAt(i + 1);
  const c = text.charCodeAt(i + 2);
  // Latin-1 trigrams pack into a small integer (fast Map keys); others into a larger exact double.
  return a < 256 && b < 256 && c < 256 ? (a << 16) | (b << 8) | c : 2 ** 40 + a * 2 ** 32 + b * 2 ** 16 + c;
}

export class TextIndex {
  /** Per document: the lower-cased raw text (substring matches) and its words joined by spaces (phrases). */
  readonly texts: string[] = [];
  readonly wordsTexts: string[] = [];

  private readonly vocab: string[] = [];
  private readonly postings: Postings[] = [];
  private readonly freeVocab: number[] = [];
  private readonly byWord = new Map<string, number>();
  /** Singular form -> vocabulary id, or ids when several words share it ("box", "boxes"). */
  private readonly bySingular = new Map<string, number | number[]>();
  /** Vocabulary ids in word order; words added since the last `commit` wait in `unsorted`. */
  private sorted: number[] = [];
  private unsorted: number[] = [];
  private readonly trigrams = new Map<number, Postings>();

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
    for (let i = 0; i + 3 <= lower.length; i++) {
      const key = trigramKey(lower, i);
      const list = this.trigrams.get(key);
      if (!list) this.trigrams.set(key, [doc]);
      else if (list[list.length - 1] !== doc) {
        if (Array.isArray(list)) list.push(doc);
        else this.trigrams.set(key, [...list, doc]);
      }
    }
  }

  /** Unindexes documents (one pass over each affected posting list). */
  remove(docs: readonly number[]): void {
    if (docs.length === 0) return;
    const dead = new Set(docs);
    const words = new Set<number>();
    const keys = new Set<number>();
    for (const doc of dead) {
      const wordsText = this.wordsTexts[doc] ?? '';
      if (wordsText !== '') {
        for (const w of wordsText.split(' ')) {
          const v = this.byWord.get(w);
          if (v !== undefined) words.add(v);
        }
      }
      const text = this.texts[doc] ?? '';
      for (let i = 0; i + 3 <= text.length; i++) keys.add(trigramKey(text, i));
      this.texts[doc] = '';
      this.wordsTexts[doc] = '';
    }
    for (const v of words) {
      const kept = growable(this.postings[v]).filter((d) => !dead.has(d));
      if (kept.length > 0) this.postings[v] = kept;
      else this.dropWord(v);
    }
    for (const key of keys) {
      const kept = growable(this.trigrams.get(key)!).filter((d) => !dead.has(d));
      if (kept.length > 0) this.trigrams.set(key, kept);
      else this.trigrams.delete(key);
    }
  }

  /** Brings the sorted vocabulary up to date; call after a batch of add/remove. `compact` packs every list. */
  commit(compact = false): void {
    if (compact) {
      // Short lists stay arrays: a typed array's own overhead outweighs the saving below ~16 entries.
      for (let v = 0; v < this.postings.length; v++) {
        const list = this.postings[v];
        if (Array.isArray(list) && list.length >= 16) this.postings[v] = Int32Array.from(list);
      }
      for (const [key, list] of this.trigrams) if (Array.isArray(list) && list.length >= 16) this.trigrams.set(key, Int32Array.from(list));
    }
    if (this.unsorted.length === 0) return;
    const cmp = (a: number, b: number) => (this.vocab[a] < this.vocab[b] ? -1 : this.vocab[a] > this.vocab[b] ? 1 : 0);
    if (this.unsorted.length > 64) {
      this.sorted = [...this.sorted, ...this.unsorted].sort(cmp);
    } else {
      for (const v of this.unsorted) this.sorted.splice(this.lowerBound(this.vocab[v]), 0, v);
    }
    this.unsorted = [];
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
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const v = this.sorted[i];
      if (!this.vocab[v].startsWith(prefix)) break;
      out.push(v);
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

  private lowerBound(word: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vocab[this.sorted[mid]] < word) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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
    this.unsorted.push(v);
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
    const at = this.lowerBound(w);
    if (this.sorted[at] === v) this.sorted.splice(at, 1);
    else this.unsorted = this.unsorted.filter((x) => x !== v);
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
