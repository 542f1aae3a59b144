import type { Catalog } from '../../sidecar/catalog/catalog';
import type { AnalyzerRows } from '../../sidecar/catalog/types';
import type { DecodedImage } from '../../sidecar/decode/decode';
import type { Analyzer } from '../../sidecar/pipeline/analyzer';

/** A real analyzer plug-in for tests: mean colour of the decoded working image, counting its calls. */
export class MeanColourAnalyzer implements Analyzer {
  readonly name = 'mean-colour';
  calls: string[] = [];
  constructor(readonly version = 1) {}

  static async createTable(catalog: Catalog): Promise<void> {
    await catalog.rawQuery('CREATE TABLE IF NOT EXISTS test_mean_colour (asset_id BIGINT, r DOUBLE, g DOUBLE, b DOUBLE)');
  }

  async analyze(image: DecodedImage): Promise<AnalyzerRows> {
    this.calls.push(image.relPath);
    const sums = [0, 0, 0];
    for (let i = 0; i < image.rgb.length; i += 3) {
      sums[0] += image.rgb[i];
      sums[1] += image.rgb[i + 1];
      sums[2] += image.rgb[i + 2];
    }
    const n = image.rgb.length / 3;
    return { test_mean_colour: [{ r: sums[0] / n, g: sums[1] / n, b: sums[2] / n }] };
  }
}
