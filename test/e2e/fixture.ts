/** The e2e workspace: real images from ../shared/data (copied to a temp folder, never into the repo) and a Markdown note. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DATA } from '../helpers/temp';

export const CLIPART = [
  'animals__mammals__horses__horse_1_rotkevich_konsat_01.svg',
  'animals__bugs__butterfly_from_star_thom_01.svg',
];
export const PHOTOS = ['prairie_falcon.jpg', 'wood_anemones.jpg', 'silver_fir.jpg', 'el_torcal_rocks.jpg'];

/** art/horse.svg, art/butterfly.svg, photos/*.jpg and docs/notes.md. */
export function buildWorkspace(dir: string): void {
  mkdirSync(join(dir, 'art'), { recursive: true });
  mkdirSync(join(dir, 'photos'), { recursive: true });
  mkdirSync(join(dir, 'docs'), { recursive: true });
  copyFileSync(join(SHARED_DATA, 'text2image', 'openclipart', 'svg', CLIPART[0]), join(dir, 'art', 'horse.svg'));
  copyFileSync(join(SHARED_DATA, 'text2image', 'openclipart', 'svg', CLIPART[1]), join(dir, 'art', 'butterfly.svg'));
  for (const p of PHOTOS) copyFileSync(join(SHARED_DATA, 'text2image', 'nature', p), join(dir, 'photos', p));
  writeFileSync(join(dir, 'docs', 'notes.md'), '# Notes\n\nThe stable logo:\n\n');
}
