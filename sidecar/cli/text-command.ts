import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { decodeImage } from '../decode/decode';
import { recognizeDecoded } from '../analyzers/ocr/analyzer';
import { loadOcrEngine } from '../analyzers/ocr/load';
import { formatFromName } from '../scan/sniff';
import { errorMessage } from '../util/errors';

/** Image files under `dir` by name, sorted; hidden folders and node_modules skipped. */
function imagesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && formatFromName(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export interface TextCommandOptions {
  json: boolean;
  print: (line: string) => void;
}

/**
 * `loupe text <dir|file>`: reads the text of each image (no catalog involved). Human output: the
 * text under each file name; --json: one line per image with lines, boxes and confidences.
 */
export async function runTextCommand(target: string, options: TextCommandOptions): Promise<number> {
  const abs = resolve(target);
  const st = statSync(abs);
  const files = st.isDirectory() ? imagesUnder(abs) : [abs];
  const base = st.isDirectory() ? abs : resolve(abs, '..');
  const threads = Number.parseInt(process.env.LOUPE_INTRA_OP_THREADS ?? '', 10) || availableParallelism();
  const engine = await loadOcrEngine({ intraOpThreads: threads });
  let failed = 0;
  for (const file of files) {
    const rel = relative(base, file) || basename(file);
    try {
      const image = await decodeImage(file, rel);
      const started = performance.now();
      const r = await recognizeDecoded(engine, image);
      const ms = Math.round(performance.now() - started);
      if (options.json) {
        options.print(JSON.stringify({
          path: rel,
          width: image.width,
          height: image.height,
          text: r.text,
          language: r.language,
          rotation: r.rotation,
          truncated: r.truncated,
          ms,
          lines: r.lines.map((l) => ({ text: l.text, confidence: Math.round(l.confidence * 1e4) / 1e4, box: l.quad.flat() })),
        }));
      } else {
        options.print(`== ${rel}${r.rotation ? ` (turned ${r.rotation}°)` : ''}`);
        if (r.text) options.print(r.text);
        else options.print('(no text)');
      }
    } catch (err) {
      failed++;
      if (options.json) options.print(JSON.stringify({ path: rel, error: errorMessage(err) }));
      else options.print(`== ${rel}\n(error: ${errorMessage(err)})`);
    }
  }
  return failed > 0 && failed === files.length ? 1 : 0;
}
