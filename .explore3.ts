import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
const labels = readFileSync('/work/shared/models/labels/imagenet1k_wnid_lemmas.tsv', 'utf8').trim().split('\n').map(l => l.split('\t')[1].split(',')[0]);
(async () => {
  const s = await ort.InferenceSession.create('/work/shared/models/labels/mobilenetv2-12-int8.onnx', { intraOpNumThreads: 1 });
  for (const f of ['prairie_falcon', 'cyclamen_persicum', 'notocactus_minimus','polemonium_reptans']) {
   for (const kernel of ['linear', 'lanczos3', 'cubic'] as const) for (const mode of ['rgb','bgr','raw01']) {
    const { data, info } = await sharp(`/work/shared/data/text2image/nature/${f}.jpg`).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const sc = 256 / Math.min(info.width, info.height);
    const w = Math.round(info.width * sc), h = Math.round(info.height * sc);
    const crop = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).resize(w, h, { kernel }).extract({ left: Math.floor((w - 224) / 2), top: Math.floor((h - 224) / 2), width: 224, height: 224 }).raw().toBuffer();
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    const t = new Float32Array(3 * 224 * 224);
    for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) { const src = mode==='bgr'? 2-c : c; t[c * 224 * 224 + i] = mode==='raw01' ? crop[i*3+c]/255 : (crop[i * 3 + src] / 255 - mean[c]) / std[c]; }
    const out = await s.run({ input: new ort.Tensor('float32', t, [1, 3, 224, 224]) });
    const logits = out.output.data as Float32Array;
    const mx = Math.max(...logits); const ex = Array.from(logits, v => Math.exp(v - mx)); const sum = ex.reduce((a, b) => a + b);
    const top = ex.map((v, i) => [i, v / sum]).sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(f, kernel, mode, top.map(([i, p]) => `${labels[i]}:${p.toFixed(3)}`).join(' '));
  }}
})();
