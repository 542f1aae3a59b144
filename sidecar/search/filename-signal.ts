/**
 * The built-in ranked signal: free words against file and folder names, through the table's word
 * indexes. Scores are those of `matchTerm` (which also writes the reasons): per word, exact word
 * (plurals folded) 1 > word prefix 0.8 > substring 0.6, quoted phrases 1; a folder match counts half;
 * then the mean over the query's words, halved unless every word matched ("all words beat some words").
 */
import { matchTerm, pathWords } from './filename-match';
import { OWN_SLOTS, Scratch, type SlotRankedList } from './fusion';
import type { ParsedQuery } from './query-parser';
import type { SearchTable } from './table';
import type { MatchReason, SearchSignal, SignalContext } from './types';

/** Raw scores are quantised to this many steps (ties are what RRF ranks by anyway). */
const STEPS = 10000;

export function explainTerms(terms: readonly string[], relPath: string): MatchReason[] {
  const reasons: MatchReason[] = [];
  for (const term of terms) {
    const m = matchTerm(term, relPath);
    if (m) reasons.push({ kind: m.where, text: `"${term}" in ${m.where === 'filename' ? 'file name' : 'folder'}` });
  }
  return reasons;
}

export class FilenameSignal implements SearchSignal {
  readonly name = 'filename';
  readonly kind = 'filename' as const;

  /** Per slot: the current word's score (`value`), the slots it touched (`list`). */
  private readonly term = new Scratch();
  /** Per slot over the whole query: sum of word scores (`value`), words matched (`count`). */
  private readonly query = new Scratch();
  /** Per folder: the current word's score. */
  private readonly folder = new Scratch();

  private buf = { keys: new Int32Array(0), slots: new Int32Array(0), scores: new Float64Array(0), buckets: new Int32Array(STEPS + 2) };

  private buffers(size: number) {
    if (this.buf.keys.length < size) {
      const n = Math.max(size, this.buf.keys.length * 2, 1024);
      this.buf = { keys: new Int32Array(n), slots: new Int32Array(n), scores: new Float64Array(n), buckets: this.buf.buckets };
    }
    return this.buf;
  }

  /**
   * The list's arrays are reused by the next call (no allocation per keystroke): the engine runs one
   * search at a time and is done with a list before ranking the next query.
   */
  rank(query: ParsedQuery, ctx: SignalContext): SlotRankedList | null {
    const terms = query.terms;
    if (terms.length === 0) return null;
    const table = ctx.table;
    this.term.ensure(table.slotCount);
    this.query.ensure(table.slotCount);
    this.folder.ensure(table.folders.length);
    const buf = this.buffers(table.slotCount);
    // Quantised keys (STEPS - score * STEPS: best first) of every matching slot, then a counting sort.
    let n: number;
    let slots: Int32Array;
    if (terms.length === 1) {
      n = this.scoreTerm(terms[0], table);
      slots = this.term.list;
      singleKeys(this.term, n, buf.keys);
    } else {
      const q = this.query;
      q.next();
      n = 0;
      for (const term of terms) n = addTerm(this.term, this.scoreTerm(term, table), q, n);
      slots = q.list;
      multiKeys(q, n, terms.length, buf.keys);
    }
    countingSort(buf, slots, n);
    return new FilenameList(table, ctx, buf.slots.subarray(0, n), buf.scores.subarray(0, n), [...terms]);
  }

  /** Scores one query word into `this.term` (value per slot, touched slots in `list`); returns how many. */
  private scoreTerm(term: string, table: SearchTable): number {
    const t = this.term;
    const f = this.folder;
    t.next();
    f.next();
    let n = 0;
    let nf = 0;
    const names = table.names;
    const folderIndex = table.folderText;
    const words = pathWords(term);
    if (words.length > 1) {
      // A phrase: its last word starts a word wherever the phrase occurs, so that word's prefix
      // postings are the candidates; the joined words confirm.
      const phrase = words.join(' ');
      const last = words[words.length - 1];
      for (const v of names.prefixWords(last)) n = fillContaining(names.docsOf(v), names.wordsTexts, phrase, t, 1, n);
      for (const v of folderIndex.prefixWords(last)) nf = fillContaining(folderIndex.docsOf(v), folderIndex.wordsTexts, phrase, f, 1, nf);
    } else {
      // One word: exact (plurals folded) 1 > prefix 0.8 > substring 0.6; each tier only fills what
      // the better tiers left untouched.
      const word = words.length === 1 ? words[0] : term;
      const exact = words.length === 1 ? names.exactWords(word) : [];
      const folderExact = words.length === 1 ? folderIndex.exactWords(word) : [];
      for (const v of exact) n = fill(names.docsOf(v), t, 1, n);
      for (const v of folderExact) nf = fill(folderIndex.docsOf(v), f, 1, nf);
      if (word.length >= 2) {
        for (const v of names.prefixWords(word)) if (!exact.includes(v)) n = fill(names.docsOf(v), t, 0.8, n);
        for (const v of folderIndex.prefixWords(word)) if (!folderExact.includes(v)) nf = fill(folderIndex.docsOf(v), f, 0.8, nf);
      }
      if (word.length >= 3) {
        n = fillContaining(names.substringCandidates(word), names.texts, word, t, 0.6, n);
        nf = fillContaining(folderIndex.substringCandidates(word), folderIndex.texts, word, f, 0.6, nf);
      }
    }
    // Folder matches count (at half weight) only where the file name did not match.
    for (let i = 0; i < nf; i++) n = fill(table.folders[f.list[i]].rows, t, f.value[f.list[i]] * 0.5, n);
    return n;
  }
}

// Hot loops live in small functions: V8 optimises them as a whole instead of on-stack mid-loop.

/** Gives every document of `docs` not yet touched this round the score `v`; returns the new count. */
function fill(docs: ArrayLike<number>, s: Scratch, v: number, n: number): number {
  const stamps = s.stamps;
  const stamp = s.stamp;
  const value = s.value;
  const out = s.list;
  for (let j = 0; j < docs.length; j++) {
    const d = docs[j];
    if (stamps[d] !== stamp) {
      stamps[d] = stamp;
      value[d] = v;
      out[n++] = d;
    }
  }
  return n;
}

/** Like `fill`, for the documents whose text contains `needle`. */
function fillContaining(docs: ArrayLike<number>, texts: readonly string[], needle: string, s: Scratch, v: number, n: number): number {
  const stamps = s.stamps;
  const stamp = s.stamp;
  const value = s.value;
  const out = s.list;
  for (let j = 0; j < docs.length; j++) {
    const d = docs[j];
    if (stamps[d] !== stamp && texts[d].includes(needle)) {
      stamps[d] = stamp;
      value[d] = v;
      out[n++] = d;
    }
  }
  return n;
}

/** Adds one word's scores (`t`, `m` slots) into the query totals `q` (`n` slots so far); returns the new count. */
function addTerm(t: Scratch, m: number, q: Scratch, n: number): number {
  const touched = t.list;
  const value = t.value;
  for (let i = 0; i < m; i++) {
    const slot = touched[i];
    if (q.stamps[slot] !== q.stamp) {
      q.stamps[slot] = q.stamp;
      q.value[slot] = 0;
      q.count[slot] = 0;
      q.list[n++] = slot;
    }
    q.value[slot] += value[slot];
    q.count[slot]++;
  }
  return n;
}

function singleKeys(t: Scratch, n: number, keys: Int32Array): void {
  const slots = t.list;
  const value = t.value;
  for (let i = 0; i < n; i++) keys[i] = STEPS - Math.round(value[slots[i]] * STEPS);
}

/** Mean of the word scores, halved unless every word matched. */
function multiKeys(q: Scratch, n: number, words: number, keys: Int32Array): void {
  const slots = q.list;
  for (let i = 0; i < n; i++) {
    const slot = slots[i];
    const raw = (q.value[slot] / words) * (q.count[slot] === words ? 1 : 0.5);
    keys[i] = STEPS - Math.round(Math.min(1, raw) * STEPS);
  }
}

/** Stable counting sort of `slots` by `buf.keys` into `buf.slots` / `buf.scores`. */
function countingSort(buf: { keys: Int32Array; slots: Int32Array; scores: Float64Array; buckets: Int32Array }, slots: Int32Array, n: number): void {
  const { keys, buckets } = buf;
  buckets.fill(0);
  for (let i = 0; i < n; i++) buckets[keys[i] + 1]++;
  for (let k = 1; k < buckets.length; k++) buckets[k] += buckets[k - 1];
  const outSlots = buf.slots;
  const outScores = buf.scores;
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const at = buckets[k]++;
    outSlots[at] = slots[i];
    outScores[at] = (STEPS - k) / STEPS;
  }
}

/** The built-in signal's list: a class, so every list has the same shape (V8 keeps the hot paths optimised). */
class FilenameList implements SlotRankedList {
  readonly [OWN_SLOTS]: { slots: Int32Array; generation: number };
  private cachedIds: Float64Array | null = null;
  /** Later pages may explain after a reload replaced the table: read the context's current one. */
  readonly explain: (id: number) => MatchReason[];

  constructor(
    private readonly table: SearchTable,
    ctx: SignalContext,
    private readonly slots: Int32Array,
    readonly scores: Float64Array,
    terms: readonly string[],
  ) {
    this[OWN_SLOTS] = { slots, generation: table.generation };
    this.explain = (id: number) => {
      const current = ctx.table;
      const slot = current.slotOf(id);
      return slot < 0 ? [] : explainTerms(terms, current.relPaths[slot]);
    };
  }

  /** Only needed when the table changed before the engine fused this list (valid until then). */
  get ids(): Float64Array {
    if (this.cachedIds === null) {
      this.cachedIds = new Float64Array(this.slots.length);
      for (let i = 0; i < this.slots.length; i++) this.cachedIds[i] = this.table.ids[this.slots[i]];
    }
    return this.cachedIds;
  }
}
