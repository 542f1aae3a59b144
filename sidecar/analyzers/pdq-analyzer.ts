import type { AnalyzerRows } from '../catalog/types';
import type { DecodedImage } from '../decode/decode';
import type { Analyzer } from '../pipeline/analyzer';
import { hashToHex, pdqDihedral } from './pdq';

/**
 * PDQ perceptual hash of every image, with its 8 rotations/flips, from the decode-once working
 * image. Rows: pdq_hashes(asset_id, quality, hash, dihedral = the other 7 hashes, comma-separated).
 */
export const pdqAnalyzer: Analyzer = {
  name: 'pdq',
  version: 1,
  owns: [{ table: 'pdq_hashes' }],
  async analyze(image: DecodedImage): Promise<AnalyzerRows> {
    const { hashes, quality } = pdqDihedral(image.rgb, image.rgbWidth, image.rgbHeight, 3);
    return {
      pdq_hashes: [{ quality, hash: hashToHex(hashes[0]), dihedral: hashes.slice(1).map(hashToHex).join(',') }],
    };
  },
};
