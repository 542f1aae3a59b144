const { decodeImage } = require('./sidecar/decode/decode');
const { recognizeDecoded } = require('./sidecar/analyzers/ocr/analyzer');
const { loadOcrEngine } = require('./sidecar/analyzers/ocr/load');
(async () => {
  const engine = await loadOcrEngine({ intraOpThreads: 2 });
  const rss = () => Math.round(process.memoryUsage().rss / 1048576);
  const a = rss();
  const img = await decodeImage(process.argv[process.argv.length - 1], 'x');
  const b = rss();
  const t = performance.now();
  const r = await recognizeDecoded(engine, img);
  const ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ afterLoad: a, afterDecode: b, end: rss(), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), ms: Math.round(ms), lines: r.lines.length }) + '\n');
})();
