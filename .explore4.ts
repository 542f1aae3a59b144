import { Catalog } from './sidecar/catalog/catalog';
import { mkdtempSync } from 'node:fs';
(async () => {
  const dir = mkdtempSync('/tmp/explore/cat-');
  const c = await Catalog.open(dir);
  await c.rawQuery(`INSERT INTO assets (rel_path, size, mtime_ms, status) VALUES ('a.jpg', 1, 1, 'pending')`);
  await c.completeAsset(1, { contentHash: 'x', format: 'jpeg', width: 1, height: 1, size: 1, mtimeMs: 1, takenAt: null, cameraMake: null, cameraModel: null, orientation: null, gpsLat: null, gpsLon: null, thumb: null }, { m: 1 }, { image_embeddings: [{ model: 'm', vector: JSON.stringify([0.1, 0.25, 1e-7, -3.5, 0.019110053777694702]) }] });
  console.log(await c.rawQuery('SELECT asset_id, model, vector, typeof(vector) t FROM image_embeddings'));
  c.close();
})();
