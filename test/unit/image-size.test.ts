import { describe, expect, it } from 'vitest';
import { imageProblem, imageSize } from '../../src/intake/image-size.ts';

// Headers built by hand, one per format, as the specifications lay them out.

const bytes = (...parts: (number[] | string)[]) => new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
const be16 = (n: number) => [n >> 8, n & 255];
const be32 = (n: number) => [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, n >> 8];
const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];

/** SOI, an APP0 segment, a DQT-like segment, then a SOFn frame header of `w` x `h`. */
const jpeg = (sof: number, w: number, h: number) => bytes([0xff, 0xd8], [0xff, 0xe0, ...be16(16)], 'JFIF\0', [1, 1, 0, 0, 1, 0, 1, 0, 0],
  [0xff, 0xdb, ...be16(4), 0, 0], [0xff, sof, ...be16(17), 8, ...be16(h), ...be16(w), 3], new Array(9).fill(0));
const box = (type: string, ...content: number[][]) => {
  const body = content.flat();
  return [...be32(8 + body.length), ...[...type].map((c) => c.charCodeAt(0)), ...body];
};

describe('imageSize reads the dimensions from the header', () => {
  const cases: [string, Uint8Array, string, { width: number; height: number } | null][] = [
    ['JPEG baseline (SOF0) after APP0 and DQT', jpeg(0xc0, 640, 480), 'image/jpeg', { width: 640, height: 480 }],
    ['JPEG progressive (SOF2)', jpeg(0xc2, 4032, 3024), 'image/jpeg', { width: 4032, height: 3024 }],
    ['JPEG whose scan starts before any frame header', bytes([0xff, 0xd8, 0xff, 0xda, 0, 2]), 'image/jpeg', null],
    ['JPEG cut inside its segments', jpeg(0xc0, 640, 480).subarray(0, 24), 'image/jpeg', null],
    ['PNG IHDR', bytes([0x89], 'PNG\r\n\x1a\n', be32(13), 'IHDR', be32(1920), be32(1080), [8, 2, 0, 0, 0]), 'image/png', { width: 1920, height: 1080 }],
    ['PNG without IHDR first', bytes([0x89], 'PNG\r\n\x1a\n', be32(13), 'tEXt', be32(1), be32(1)), 'image/png', null],
    ['GIF89a', bytes('GIF89a', le16(320), le16(200), [0, 0, 0]), 'image/gif', { width: 320, height: 200 }],
    ['WebP lossy (VP8)', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ', [0, 0, 0, 0], [0, 0, 0], [0x9d, 0x01, 0x2a], le16(800), le16(600)), 'image/webp', { width: 800, height: 600 }],
    ['WebP lossless (VP8L)', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8L', [0, 0, 0, 0], [0x2f], (() => { const v = (99) | ((49) << 14); return [v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255]; })(), [0, 0, 0, 0, 0]), 'image/webp', { width: 100, height: 50 }],
    ['WebP extended (VP8X)', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8X', [10, 0, 0, 0], [0, 0, 0, 0], le24(2999), le24(1999)), 'image/webp', { width: 3000, height: 2000 }],
    ['WebP with a broken VP8 start code', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ', [0, 0, 0, 0], [0, 0, 0], [0, 0, 0], le16(8), le16(6)), 'image/webp', null],
    ['HEIC ispe in meta > iprp > ipco', bytes(box('ftyp', [...'heic'].map((c) => c.charCodeAt(0)), be32(0)),
      box('meta', [0, 0, 0, 0], box('hdlr', new Array(20).fill(0)), box('iprp', box('ipco', box('ispe', [0, 0, 0, 0], be32(512), be32(512)), box('ispe', [0, 0, 0, 0], be32(4032), be32(3024)))))),
    'image/heic', { width: 4032, height: 3024 }],
    ['HEIC without ispe', bytes(box('ftyp', [...'heic'].map((c) => c.charCodeAt(0)), be32(0)), box('meta', [0, 0, 0, 0])), 'image/heic', null],
    ['HEIC whose box claims more than the file', bytes(box('ftyp', [...'heic'].map((c) => c.charCodeAt(0))), be32(0xffffff00), 'meta'), 'image/heic', null],
  ];
  for (const [what, b, mime, size] of cases) {
    it(`${what}: ${size ? `${size.width}x${size.height}` : 'unreadable'}`, () => {
      expect(imageSize(b, mime)).toEqual(size);
    });
  }

  it('tells an unreadable header from absurd dimensions', () => {
    expect(imageProblem(bytes([0xff, 0xd8, 0xff, 0xd9]), 'image/jpeg')).toEqual({ code: 'photo_undecodable', size: null });
    expect(imageProblem(jpeg(0xc0, 0, 480), 'image/jpeg')?.code).toBe('photo_dimensions_invalid');
    expect(imageProblem(jpeg(0xc0, 20_001, 10), 'image/jpeg')?.code).toBe('photo_dimensions_invalid');
    expect(imageProblem(jpeg(0xc0, 20_000, 10), 'image/jpeg')).toBeNull();
  });

  it('walks a file of 100,000 fill bytes and padding segments in bounded steps', () => {
    const junk = new Uint8Array(200_000).fill(0xff);
    junk[0] = 0xff; junk[1] = 0xd8;
    const started = performance.now();
    expect(imageSize(junk, 'image/jpeg')).toBeNull();
    expect(performance.now() - started).toBeLessThan(200);
  });
});
