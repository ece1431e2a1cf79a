// The dimensions of an image, read from its header structure (no decoder, no native library):
// a file that claims to be an image by its first bytes but has no readable header is not one.
// Every loop is bounded by the file's length and a fixed number of steps.

/** Width and height in pixels as the file's header declares them. */
export interface ImageSize {
  width: number;
  height: number;
}

/** The most boxes or segments walked before giving up (a real header is found in a few). */
const MAX_STEPS = 512;

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** A JPEG's frame header (SOFn): walks the marker segments from the start of the file. */
function jpegSize(b: Uint8Array): ImageSize | null {
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  for (let step = 0; step < MAX_STEPS && i + 4 <= b.length; step++) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; } // no length
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan data before any frame header
    const len = u16be(b, i + 2);
    if (len < 2) return null;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length || len < 7) return null;
      return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    }
    i += 2 + len;
  }
  return null;
}

/** A PNG's IHDR, which must be its first chunk. */
function pngSize(b: Uint8Array): ImageSize | null {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR' || u32be(b, 8) !== 13) return null;
  return { width: u32be(b, 16), height: u32be(b, 20) };
}

/** A GIF's logical screen size. */
function gifSize(b: Uint8Array): ImageSize | null {
  if (b.length < 13 || !/^GIF8[79]a$/.test(ascii(b, 0, 6))) return null;
  return { width: u16le(b, 6), height: u16le(b, 8) };
}

/** A WebP's first chunk: VP8 (lossy frame header), VP8L (lossless) or VP8X (extended). */
function webpSize(b: Uint8Array): ImageSize | null {
  if (b.length < 30 || ascii(b, 0, 4) !== 'RIFF' || ascii(b, 8, 4) !== 'WEBP') return null;
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') {
    // Frame tag (3 bytes), then the start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
    return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return null;
    const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  return null;
}

/**
 * A HEIF/HEIC/AVIF file's image spatial extents (`ispe`): ftyp, then meta > iprp > ipco > ispe.
 * The largest extent is taken (a grid image lists its tiles and the whole).
 */
function heifSize(b: Uint8Array): ImageSize | null {
  if (b.length < 16 || ascii(b, 4, 4) !== 'ftyp') return null;
  let best: ImageSize | null = null;
  let steps = 0;
  const walk = (start: number, end: number, path: string[]): void => {
    let i = start;
    while (i + 8 <= end && steps++ < MAX_STEPS) {
      let size = u32be(b, i);
      const type = ascii(b, i + 4, 4);
      let header = 8;
      if (size === 1) {
        if (i + 16 > end || u32be(b, i + 8) !== 0) return; // 64-bit sizes beyond 4 GB: not a photo
        size = u32be(b, i + 12);
        header = 16;
      } else if (size === 0) size = end - i;
      if (size < header || i + size > end) return;
      const depth = path.length;
      if (depth === 0 && type === 'meta') walk(i + header + 4, i + size, [type]); // a full box: version and flags first
      else if (depth === 1 && type === 'iprp') walk(i + header, i + size, [...path, type]);
      else if (depth === 2 && type === 'ipco') walk(i + header, i + size, [...path, type]);
      else if (depth === 3 && type === 'ispe' && size >= header + 12) {
        const s = { width: u32be(b, i + header + 4), height: u32be(b, i + header + 8) };
        if (!best || s.width * s.height > best.width * best.height) best = s;
      }
      i += size;
    }
  };
  walk(0, b.length, []);
  return best;
}

const READERS: Record<string, (b: Uint8Array) => ImageSize | null> = {
  'image/jpeg': jpegSize, 'image/png': pngSize, 'image/gif': gifSize, 'image/webp': webpSize,
  'image/heic': heifSize, 'image/heif': heifSize, 'image/avif': heifSize,
};

/** The dimensions a file of type `mime` declares in its header, or null when its header cannot be read. */
export function imageSize(bytes: Uint8Array, mime: string): ImageSize | null {
  const read = READERS[mime];
  return read ? read(bytes) : null;
}

/** The largest side a photo may declare: beyond it, a "photo" is a decompression bomb or garbage. */
export const PHOTO_SIDE_MAX = 20_000;

/** Why a file of type `mime` is not a usable image (its header unreadable, its sides 0 or absurd), or null when it is one. */
export function imageProblem(bytes: Uint8Array, mime: string): { code: 'photo_undecodable' | 'photo_dimensions_invalid'; size: ImageSize | null } | null {
  const size = imageSize(bytes, mime);
  if (!size) return { code: 'photo_undecodable', size: null };
  if (size.width < 1 || size.height < 1 || size.width > PHOTO_SIDE_MAX || size.height > PHOTO_SIDE_MAX) return { code: 'photo_dimensions_invalid', size };
  return null;
}
