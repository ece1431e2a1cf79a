import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';

// Vietnamese mail still arrives in the encodings of the 1990s and 2000s: windows-1258 (Outlook
// Express; tone marks as combining characters), VISCII, and TCVN3 ("ABC", the .VnTime fonts),
// which has no MIME name and is usually sent labelled iso-8859-1 or windows-1252. Everything is
// decoded here to Unicode NFC, the form the rest of phananh compares.

/** Charset labels of TCVN3 / TCVN 5712 that mailers have used. */
const TCVN_LABELS = new Set(['tcvn', 'tcvn3', 'tcvn5712', 'tcvn57121', 'xviettcvn', 'xviettcvn5712', 'vn3', 'abc']);
/** Labels under which TCVN3 text hides (the font did the rest on the sender's screen). */
const WESTERN_LABELS = new Set(['iso88591', 'latin1', 'l1', 'cp1252', 'windows1252', 'xcp1252', 'cp819', 'iso885915', 'ascii', 'usascii']);

const key = (label: string) => label.toLowerCase().replace(/[^a-z0-9]/g, '');

// Vietnamese letters a syllable is made of, after NFD with the tone mark kept apart. A word is
// taken as Vietnamese when it is onset + vowels + coda with at most one tone mark.
const ONSET = '(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?';
const VOWELS = '(?:[aăâeêioôơuưy]{1,3})';
const CODA = '(?:ch|ng|nh|[cmnptiouy])?';
const SYLLABLE = new RegExp(`^${ONSET}${VOWELS}${CODA}$`);
const TONES = /[\u0300\u0301\u0303\u0309\u0323]/g;

/** Whether a word reads as one Vietnamese syllable (case and tone ignored). */
export function isVietnameseSyllable(word: string): boolean {
  const w = word.toLowerCase().normalize('NFD');
  const tones = w.match(TONES)?.length ?? 0;
  if (tones > 1) return false;
  return SYLLABLE.test(w.replace(TONES, '').normalize('NFC'));
}

/** Share of the words with a letter beyond ASCII that read as Vietnamese syllables (0 when there are none). */
function vietnameseShare(text: string): { share: number; words: number } {
  const words = text.split(/[^\p{L}]+/u).filter((w) => /[^\x00-\x7f]/.test(w)); // eslint-disable-line no-control-regex -- ASCII range
  if (words.length === 0) return { share: 0, words: 0 };
  return { share: words.filter(isVietnameseSyllable).length / words.length, words: words.length };
}

/**
 * Whether bytes labelled as a Western charset are TCVN3 text: read as TCVN3, nearly all of their
 * non-ASCII words are Vietnamese syllables, clearly more than read as labelled (French or German
 * text stays what it says it is).
 */
export function looksLikeTcvn3(bytes: Uint8Array, label: string): boolean {
  let high = 0;
  for (const b of bytes) if (b >= 0x80) high++;
  if (high < 2) return false;
  const asTcvn = vietnameseShare(iconv.decode(Buffer.from(bytes), 'tcvn'));
  const asLabelled = vietnameseShare(iconv.decode(Buffer.from(bytes), iconv.encodingExists(label) ? label : 'latin1'));
  // Latin-1 readings of TCVN3 bytes happen to hold some Vietnamese-looking letters (è, ê, Õ):
  // what decides is how much better TCVN3 reads.
  return asTcvn.words >= 2 && asTcvn.share >= 0.8 && asTcvn.share - asLabelled.share >= 0.25;
}

/** Decodes a body in its declared charset to NFC text, recognising TCVN3 behind a Western label. */
export function decodeText(bytes: Uint8Array, label: string): string {
  const k = key(label);
  const buf = Buffer.from(bytes);
  let text: string;
  if (TCVN_LABELS.has(k)) text = iconv.decode(buf, 'tcvn');
  else if (WESTERN_LABELS.has(k) && looksLikeTcvn3(bytes, label)) text = iconv.decode(buf, 'tcvn');
  else if (k === 'utf8' || k === '') text = buf.toString('utf8');
  else if (iconv.encodingExists(label)) text = iconv.decode(buf, label);
  else if (iconv.encodingExists(k)) text = iconv.decode(buf, k);
  else text = buf.toString('utf8'); // an unknown label: most mail today is UTF-8 whatever it says
  return text.normalize('NFC');
}

/**
 * A header's text (a subject, a sender's name) that a mailer decoded as Latin-1 or windows-1252
 * although its bytes were TCVN3, decoded again as TCVN3; any other text as it is, in NFC.
 */
export function repairTcvn3(text: string): string {
  if (text.length > 2000 || !/[\u0080-\u00ff]/.test(text)) return text.normalize('NFC');
  for (const label of ['latin1', 'windows-1252']) {
    const bytes = iconv.encode(text, label);
    // Only text that every character of came from one byte of that charset.
    if (iconv.decode(bytes, label) !== text) continue;
    if (looksLikeTcvn3(bytes, label)) return iconv.decode(bytes, 'tcvn').normalize('NFC');
  }
  return text.normalize('NFC');
}

/**
 * A decoder with the shape of node-iconv's `Iconv(from, to)` stream, which mailparser accepts as
 * its `Iconv` option: it collects a body part and hands back its text as UTF-8 (`decodeText`).
 * A part is at most the message's size, which is bounded before parsing.
 */
export class LegacyCharsetDecoder extends Transform {
  readonly #label: string;
  #chunks: Buffer[] = [];

  constructor(from: string) {
    super();
    this.#label = from;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.push(Buffer.from(decodeText(Buffer.concat(this.#chunks), this.#label), 'utf8'));
    done();
  }
}

/**
 * Vietnamese text in windows-1258's own form: letters with a circumflex, breve or horn are
 * precomposed, tone marks follow as combining characters (what Outlook Express wrote). For
 * fixtures and tests.
 */
export function toCp1258Form(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    const parts = ch.normalize('NFD');
    const tone = parts.match(TONES)?.[0] ?? '';
    out += parts.replace(TONES, '').normalize('NFC') + tone;
  }
  return out;
}
