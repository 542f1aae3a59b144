import type { AnalyzerRows } from '../catalog/types';
import type { DecodedImage } from '../decode/decode';
import type { Analyzer } from '../pipeline/analyzer';
import { dominantColours } from '../tags/colours';

/** Dominant colours of the decode-once working image. Rows: image_colours(asset_id, colour, share). */
export const colourAnalyzer: Analyzer = {
  name: 'colours',
  version: 1,
  owns: [{ table: 'image_colours' }],
  async analyze(image: DecodedImage): Promise<AnalyzerRows> {
    return { image_colours: (await dominantColours(image)).map((c) => ({ colour: c.colour, share: Math.round(c.share * 10000) / 10000 })) };
  },
};
