import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
const buf = readFileSync('/work/shared/models/labels/mobilenetv2-12-int8.onnx');
const m = onnx.ModelProto.decode(buf);
const g = m.graph!;
g.node.push(onnx.NodeProto.create({ name: 'loupe_gap_dequant', opType: 'DequantizeLinear', input: ['464_quantized', '464_scale', '464_zero_point'], output: ['loupe_gap_4d'] }));
g.node.push(onnx.NodeProto.create({ name: 'loupe_gap_flatten', opType: 'Flatten', input: ['loupe_gap_4d'], output: ['embedding'], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })] }));
g.output.push(onnx.ValueInfoProto.create({ name: 'embedding', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch_size' }, { dimValue: 1280 }] } } } }));
const bytes = onnx.ModelProto.encode(m).finish();
const labels = readFileSync('/work/shared/models/labels/imagenet1k_wnid_lemmas.tsv', 'utf8').trim().split('\n').map(l => l.split('\t')[1].split(',')[0]);
(async () => {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  console.log(s.inputNames, s.outputNames);
  for (const f of ['prairie_falcon', 'cyclamen_persicum', 'silver_fir', 'wood_anemones', 'el_torcal_rocks', 'tanners_ridge']) {
    const { data, info } = await sharp(`/work/shared/data/text2image/nature/${f}.jpg`).rotate().resize(1440, 1440, { fit: 'inside', withoutEnlargement: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const sc = 256 / Math.min(info.width, info.height);
    const w = Math.round(info.width * sc), h = Math.round(info.height * sc);
    const crop = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).resize(w, h, { kernel: 'linear' }).extract({ left: Math.floor((w - 224) / 2), top: Math.floor((h - 224) / 2), width: 224, height: 224 }).raw().toBuffer();
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    const t = new Float32Array(3 * 224 * 224);
    for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) t[c * 224 * 224 + i] = (crop[i * 3 + c] / 255 - mean[c]) / std[c];
    const t0 = performance.now();
    const out = await s.run({ input: new ort.Tensor('float32', t, [1, 3, 224, 224]) });
    const ms = performance.now() - t0;
    const logits = out.output.data as Float32Array; const emb = out.embedding.data as Float32Array;
    const mx = Math.max(...logits); const ex = Array.from(logits, v => Math.exp(v - mx)); const sum = ex.reduce((a, b) => a + b);
    const top = ex.map((v, i) => [i, v / sum]).sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(f, ms.toFixed(1), out.embedding.dims, emb.slice(0, 5), top.map(([i, p]) => `${labels[i]}:${p.toFixed(3)}`).join(' '));
  }
})();
