import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import { AppError } from '../core/errors.ts';
import type { Attachment } from '../wire/staff-api.ts';
import { imageProblem, imageSize, PHOTO_SIDE_MAX } from './image-size.ts';

/** Where uploaded photos live; local disk by default, an object store can implement the same. */
export interface FileStore {
  put(bytes: Uint8Array, contentType: string, ext: string): Promise<Attachment>;
  get(key: string): Promise<Uint8Array | null>;
}

/** Content-addressed files under DATA_DIR/uploads: the same photo sent twice is stored once. */
export class LocalFileStore implements FileStore {
  constructor(private readonly root: string) {}

  async put(bytes: Uint8Array, contentType: string, ext: string): Promise<Attachment> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `${sha256.slice(0, 2)}/${sha256}.${ext}`;
    const file = path.join(this.root, key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes, { flush: true });
    await rename(tmp, file);
    return { key, content_type: contentType, size: bytes.byteLength, sha256 };
  }

  async get(key: string): Promise<Uint8Array | null> {
    if (!/^[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]{2,5}$/.test(key)) return null;
    return readFile(path.join(this.root, key)).catch(() => null);
  }
}

/** The limit as people read it; rounded down, so that "larger than" stays true (1024 -> "1 KB", not "0 MB"). */
export function sizeLabel(bytes: number, decimalMark = '.'): string {
  const [n, unit] = bytes >= 1048576 ? [bytes / 1048576, 'MB'] : [bytes / 1024, 'KB'];
  return `${String(Math.floor(n * 10) / 10).replace('.', decimalMark)} ${unit}`;
}

/** The error for a photo over the size limit, raised before its bytes are even read. */
export function photoTooLarge(name: string, maxBytes: number): AppError {
  return new AppError('photo_too_large', 413, `${name} is larger than ${sizeLabel(maxBytes)}`,
    `Ảnh "${name}" lớn hơn ${sizeLabel(maxBytes, ',')}.`, { file: name, max_bytes: maxBytes });
}

const PHOTO_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/heic', 'image/heif', 'image/avif']);

/**
 * How a stored file is served, by its bytes (never its stored type or name): photos and PDFs
 * shown in the browser as what they are; anything else only as a download of opaque bytes.
 */
export async function servedAs(bytes: Uint8Array): Promise<{ mime: string; ext: string; inline: boolean }> {
  const type = await fileTypeFromBuffer(bytes);
  if (type && (PHOTO_TYPES.has(type.mime) || type.mime === 'application/pdf')) return { mime: type.mime, ext: type.ext, inline: true };
  return { mime: 'application/octet-stream', ext: type?.ext ?? 'bin', inline: false };
}

/**
 * A Content-Disposition naming a file (RFC 6266): an ASCII `filename` for old clients (accents
 * dropped, đ -> d) and the exact name UTF-8 encoded in `filename*` (RFC 5987).
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const safe = name.slice(0, 200).replace(/[\p{Cc}/\\]/gu, '_').trim() || 'file';
  const ascii = safe.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').replace(/[^\x20-\x7e]|["%;]/g, '_');
  const encoded = encodeURIComponent(safe.normalize('NFC')).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Checks an uploaded photo by size, by its magic bytes (never the declared type or the file
 * name) and by its header: its dimensions must be readable and sensible (1 to PHOTO_SIDE_MAX
 * pixels a side). Returns the detected type and the dimensions.
 */
export async function checkPhoto(bytes: Uint8Array, maxBytes: number, name = 'photo'): Promise<{ mime: string; ext: string; width: number; height: number }> {
  if (bytes.byteLength > maxBytes) throw photoTooLarge(name, maxBytes);
  const type = await fileTypeFromBuffer(bytes);
  if (!type || !PHOTO_TYPES.has(type.mime)) {
    throw new AppError('photo_type_unsupported', 415, `${name} is not a JPEG, PNG, WebP, GIF, HEIC or AVIF image`,
      `Tệp "${name}" không phải là ảnh (JPEG, PNG, WebP, GIF, HEIC).`, { file: name });
  }
  const problem = imageProblem(bytes, type.mime);
  if (problem && !problem.size) {
    throw new AppError('photo_undecodable', 415, `${name} starts like a ${type.ext.toUpperCase()} image but its header cannot be read`,
      `Tệp "${name}" bị hỏng hoặc không phải là ảnh hợp lệ.`, { file: name });
  }
  if (problem?.size) {
    const { width, height } = problem.size;
    throw new AppError('photo_dimensions_invalid', 422, `${name} declares ${width}x${height} pixels (1 to ${PHOTO_SIDE_MAX} a side)`,
      `Ảnh "${name}" có kích thước không hợp lệ (${width}×${height} điểm ảnh).`, { file: name, width, height, max_side: PHOTO_SIDE_MAX });
  }
  return { mime: type.mime, ext: type.ext, ...imageSize(bytes, type.mime)! };
}
