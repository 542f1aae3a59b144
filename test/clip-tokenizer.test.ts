// The CLIP tokenizer against the real vocabulary in ../shared/models/clip-tokenizer, checked id for
// id against Hugging Face's own tokenizers implementation (npm @huggingface/tokenizers, reading the
// same tokenizer.json) over a few hundred varied strings, and against known ids.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { ClipTokenizer } from '../sidecar/semantic/tokenizer';
import { SHARED_MODELS } from './helpers/temp';

const DIR = join(SHARED_MODELS, 'clip-tokenizer');
const jsonText = readFileSync(join(DIR, 'tokenizer.json'), 'utf8');
const fromJson = ClipTokenizer.fromTokenizerJson(jsonText);
const fromGz = ClipTokenizer.fromBpeGz(readFileSync(join(DIR, 'bpe_simple_vocab_16e6.txt.gz')));
const reference = new Tokenizer(JSON.parse(jsonText), {});

/** Deterministic pseudo-random strings: words, unicode, emoji, punctuation, digits, odd spacing, long text. */
function variedStrings(): string[] {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const words = ['red', 'flowers', 'on', 'a', 'wooden', 'table', 'Whiteboard', 'sketch', 'of', 'login', 'flow', 'SUNSET', 'over', 'the', 'sea',
    "don't", "it's", "we're", "they've", "I'm", "you'll", "she'd", 'café', 'naïve', 'Zürich', 'straße', 'İstanbul', 'ΑΘΗΝΑ', 'москва', '東京', '北京烤鸭',
    'ソウル', 'مرحبا', 'שלום', 'हिन्दी', '🐱', '🐶🐾', '👨‍👩‍👧', '🇫🇷', '❤️', 'x²', '½', '１２３', 'ｆｕｌｌ', 'e\u0301', 'A\u030A', 'hello-world', 'snake_case',
    'CamelCase', 'v1.2.3', '#hashtag', '@user', 'https://example.com/a?b=c', 'e-mail@test.org', '(parens)', '[brackets]', '"quoted"', '¿qué?', '...', '!!!', '—', '–', '…',
    '2019', '3.14159', '10,000', '$5', '100%', 'a&b', '<tag>', '<|endoftext|>', '<|startoftext|>', '\u00a0', 'tab\there', 'line\nbreak', '  ', ''];
  const out: string[] = ['a photo of a cat', '', ' ', 'A PHOTO OF A CAT', 'red flowers on a wooden table', 'whiteboard sketch of a login flow', 'sunset over the sea'];
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(rand() * (i % 25 === 0 ? 120 : 10));
    const parts: string[] = [];
    for (let j = 0; j < n; j++) parts.push(pick(words) + pick(['', ' ', ' ', ' ', '  ', ',', '.', '\t', '\n']));
    out.push(parts.join(''));
  }
  return out;
}

describe('CLIP tokenizer', () => {
  it('gives the known ids for "a photo of a cat", padded to 77', () => {
    for (const t of [fromJson, fromGz]) {
      const ids = t.tokenize('a photo of a cat');
      assert.equal(ids.length, 77);
      assert.deepEqual(ids.slice(0, 8), [49406, 320, 1125, 539, 320, 2368, 49407, 0]);
      assert.ok(ids.slice(7).every((x) => x === 0));
    }
  });

  it('matches the Hugging Face tokenizer over a few hundred varied strings, from tokenizer.json and from the gz vocabulary', () => {
    const strings = variedStrings();
    assert.ok(strings.length >= 300);
    let long = 0;
    for (const s of strings) {
      const ref = reference.encode(s).ids as number[];
      assert.deepEqual([49406, ...fromJson.encodeText(s), 49407], ref, `tokenizer.json: ${JSON.stringify(s)}`);
      assert.deepEqual(fromGz.encodeText(s), fromJson.encodeText(s), `gz vocabulary: ${JSON.stringify(s)}`);
      // Truncation keeps the start, the first 75 text tokens and the end token.
      const body = ref.slice(1, -1);
      if (body.length > 75) long++;
      const expected = [49406, ...body.slice(0, 75), 49407];
      while (expected.length < 77) expected.push(0);
      assert.deepEqual(fromJson.tokenize(s), expected, `truncated: ${JSON.stringify(s)}`);
    }
    assert.ok(long >= 5, 'some strings are longer than the context');
  });

  it('lower-cases, folds whitespace and splits punctuation and contractions as CLIP does', () => {
    assert.deepEqual(fromJson.encodeText('Red   FLOWERS'), fromJson.encodeText('red flowers'));
    assert.deepEqual(fromJson.encodeText("it's"), [585, 568]);
    assert.deepEqual(fromJson.encodeText('12'), fromJson.encodeText('1 2'), 'digits are single tokens');
  });

  it('pads with the configured pad token and batches into one int32 tensor', () => {
    const padEnd = ClipTokenizer.fromTokenizerJson(jsonText, { padToken: '<|endoftext|>', contextLength: 16 });
    assert.deepEqual(padEnd.tokenize('cat'), [49406, 2368, 49407, ...new Array(13).fill(49407)]);
    const batch = fromJson.tokenizeBatch(['a photo of a cat', 'dog'], { contextLength: 8 });
    assert.deepEqual([...batch], [49406, 320, 1125, 539, 320, 2368, 49407, 0, 49406, 1929, 49407, 0, 0, 0, 0, 0]);
  });
});
