/**
 * A known-answer check of the int8 MobileNetV2 before it labels anything: three synthetic patterns
 * (made here, pixel by pixel, so they are the same everywhere) whose class the reference model
 * names with confidence. A different answer means a wrong file, a broken runtime or wrong
 * preprocessing, and labels from it would be silently wrong: the analyzer is then left out.
 */
import type { MobileNet } from './model';
import { preprocess } from './preprocess';
import { topK } from './model';

const SIZE = 256;

interface Probe {
  name: string;
  pixel: (x: number, y: number) => readonly [number, number, number];
  /** ImageNet class index the reference model gives, and its probability there. */
  expected: number;
  label: string;
  probability: number;
}

const WHITE = [255, 255, 255] as const;
const BLACK = [0, 0, 0] as const;

export const PROBES: readonly Probe[] = [
  { name: 'concentric rings', pixel: (x, y) => (Math.floor(Math.hypot(x - 128, y - 128) / 12) % 2 ? [255, 200, 0] : [20, 20, 20]), expected: 506, label: 'coil', probability: 0.807 },
  { name: '8-pixel checkerboard', pixel: (x, y) => ((Math.floor(x / 8) + Math.floor(y / 8)) % 2 ? WHITE : BLACK), expected: 904, label: 'window screen', probability: 0.908 },
  { name: 'thin grid', pixel: (x, y) => (x % 32 < 3 || y % 32 < 3 ? BLACK : WHITE), expected: 789, label: 'shoji', probability: 0.758 },
];

/** Probabilities may move this much (other CPUs' int8 kernels) before the answer counts as wrong. */
const TOLERANCE = 0.15;

function render(probe: Probe): Buffer {
  const rgb = Buffer.alloc(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) rgb.set(probe.pixel(x, y), (y * SIZE + x) * 3);
  return rgb;
}

export interface SelfCheckResult {
  ok: boolean;
  /** One line per probe that failed (empty when ok). */
  problems: string[];
}

export async function selfCheck(model: MobileNet): Promise<SelfCheckResult> {
  const problems: string[] = [];
  for (const probe of PROBES) {
    const { probabilities: p } = await model.infer(await preprocess({ rgb: render(probe), rgbWidth: SIZE, rgbHeight: SIZE }));
    const top = topK(p, 1)[0];
    if (top !== probe.expected || Math.abs(p[top] - probe.probability) > TOLERANCE) {
      problems.push(`${probe.name}: expected class ${probe.expected} (${probe.label}) at ~${probe.probability}, got class ${top} at ${p[top].toFixed(3)}`);
    }
  }
  return { ok: problems.length === 0, problems };
}

const checked = new WeakMap<MobileNet, Promise<SelfCheckResult>>();

/** `selfCheck`, once per model instance. */
export function selfCheckOnce(model: MobileNet): Promise<SelfCheckResult> {
  let r = checked.get(model);
  if (!r) checked.set(model, (r = selfCheck(model)));
  return r;
}
