/**
 * Face tiles for the people view: a square crop around the face, cut from the original image (the
 * thumbnail is too small for faces in large photos), cached per face as WebP in the state folder.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FaceInfo } from './types';

export const FACE_CROP_SIZE = 160;

export async function faceCrop(root: string, stateDir: string, face: FaceInfo): Promise<string> {
  const dir = join(stateDir, 'face-crops');
  const out = join(dir, `${face.id}-${Math.round(face.box.x)}-${Math.round(face.box.y)}-${Math.round(face.box.w)}.webp`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  // Boxes are in displayed (EXIF-rotated) pixels, so rotate first; pad the face by 35% each side.
  const rotated = sharp(join(root, face.relPath), { limitInputPixels: 200_000_000 }).rotate();
  const { data, info } = await rotated.raw().toBuffer({ resolveWithObject: true });
  const side = Math.max(face.box.w, face.box.h) * 1.7;
  const cx = face.box.x + face.box.w / 2;
  const cy = face.box.y + face.box.h / 2;
  const left = Math.max(0, Math.round(cx - side / 2));
  const top = Math.max(0, Math.round(cy - side / 2));
  const width = Math.max(1, Math.min(info.width - left, Math.round(side)));
  const height = Math.max(1, Math.min(info.height - top, Math.round(side)));
  const tmp = `${out}.${process.pid}.tmp`;
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .extract({ left, top, width, height })
    .resize(FACE_CROP_SIZE, FACE_CROP_SIZE, { fit: 'cover' })
    .webp({ quality: 82 })
    .toFile(tmp);
  renameSync(tmp, out);
  return out;
}
