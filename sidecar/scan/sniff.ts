/**
 * Image type detection by content (magic bytes), never by file name.
 * `decodable` says whether our decoder (sharp/libvips) can read the format.
 */
export type ImageFormat =
  | 'jpeg'
  | 'png'
  | 'gif'
  | 'webp'
  | 'tiff'
  | 'avif'
  | 'heic'
  | 'svg'
  | 'bmp'
  | 'pnm'
  | 'ico'
  | 'psd'
  | 'jxl';

export const DECODABLE_FORMATS: ReadonlySet<ImageFormat> = new Set([
  'jpeg',
  'png',
  'gif',
  'webp',
  'tiff',
  'avif',
  'heic',
  'svg',
]);

/** How many leading bytes `sniffImage` wants to see: binary magic fits in a few bytes, but XML
 * prologues (comments, doctypes) before an <svg> element can be long. */
export const SNIFF_BYTES = 64 * 1024;

const FTYP_AVIF = new Set(['avif', 'avis']);
const FTYP_HEIC = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

function ascii(buf: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...buf.subarray(start, Math.min(end, buf.length)));
}

function startsWith(buf: Uint8Array, bytes: number[], offset = 0): boolean {
  if (buf.length < offset + bytes.length) return false;
  return bytes.every((b, i) => buf[offset + i] === b);
}

export function sniffImage(head: Uint8Array): ImageFormat | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const first6 = ascii(head, 0, 6);
  if (first6 === 'GIF87a' || first6 === 'GIF89a') return 'gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(head, [0x49, 0x49, 0x2b, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (ascii(head, 4, 8) === 'ftyp') {
    const boxSize = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    const brands: string[] = [ascii(head, 8, 12)];
    for (let off = 16; off + 4 <= Math.min(boxSize, head.length); off += 4) brands.push(ascii(head, off, off + 4));
    if (brands.some((b) => FTYP_AVIF.has(b))) return 'avif';
    if (brands.some((b) => FTYP_HEIC.has(b))) return 'heic';
    return null;
  }
  if (ascii(head, 0, 2) === 'BM' && head.length >= 14) return 'bmp';
  if (head[0] === 0x50 && head[1] >= 0x31 && head[1] <= 0x37 && (head[2] === 0x0a || head[2] === 0x20 || head[2] === 0x0d || head[2] === 0x09)) return 'pnm';
  if (startsWith(head, [0x00, 0x00, 0x01, 0x00]) && head.length > 6 && head[4] > 0) return 'ico';
  if (ascii(head, 0, 4) === '8BPS') return 'psd';
  if (startsWith(head, [0xff, 0x0a]) || startsWith(head, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'jxl';
  if (looksLikeSvg(head)) return 'svg';
  return null;
}

/** An SVG is XML whose first element is <svg>, possibly after a BOM, XML declaration, comments or doctype. */
function looksLikeSvg(head: Uint8Array): boolean {
  let text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let rest = text.trimStart();
  for (let guard = 0; guard < 200; guard++) {
    if (rest.startsWith('<?')) {
      const end = rest.indexOf('?>');
      if (end < 0) return false;
      rest = rest.slice(end + 2).trimStart();
    } else if (rest.startsWith('<!--')) {
      const end = rest.indexOf('-->');
      if (end < 0) return false;
      rest = rest.slice(end + 3).trimStart();
    } else if (/^<!DOCTYPE\s+svg[\s>]/i.test(rest)) {
      return true;
    } else if (rest.startsWith('<!DOCTYPE') || rest.startsWith('<!doctype')) {
      // Internal subsets may hold entity declarations; find the end of the doctype, not the first '>'.
      const bracket = rest.indexOf('[');
      const close = rest.indexOf('>');
      if (bracket >= 0 && bracket < close) {
        const endSubset = rest.indexOf(']>');
        if (endSubset < 0) return /<svg[\s>]/i.test(rest);
        rest = rest.slice(endSubset + 2).trimStart();
      } else {
        if (close < 0) return false;
        rest = rest.slice(close + 1).trimStart();
      }
    } else {
      return /^<(svg:)?svg[\s>/]/i.test(rest);
    }
  }
  return false;
}

const EXTENSION_FORMATS: Record<string, ImageFormat> = {
  jpg: 'jpeg', jpeg: 'jpeg', jpe: 'jpeg', jfif: 'jpeg', png: 'png', apng: 'png', gif: 'gif', webp: 'webp',
  tif: 'tiff', tiff: 'tiff', avif: 'avif', heic: 'heic', heif: 'heic', svg: 'svg', bmp: 'bmp',
  ppm: 'pnm', pgm: 'pnm', pbm: 'pnm', pnm: 'pnm', ico: 'ico', psd: 'psd', jxl: 'jxl',
};

/** The format a file's name claims. Used only to report mislabelled files, never to decide. */
export function formatFromName(name: string): ImageFormat | null {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return null;
  return EXTENSION_FORMATS[name.slice(dot + 1).toLowerCase()] ?? null;
}
