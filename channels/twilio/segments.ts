// SMS are sent in segments: 160 GSM-7 characters (153 each when split), or 70 UCS-2 characters
// (67 each) as soon as one character is outside GSM-7, which any Vietnamese letter with a
// diacritic is. A notice that fits one UCS-2 segment costs a seventh of one that takes seven.

const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** Characters of the GSM-7 extension table: two septets each. */
const GSM7_EXTENDED = new Set('^{}\\[~]|€\f');

export interface Segments {
  encoding: 'GSM-7' | 'UCS-2';
  /** Length in the encoding's units (septets, or UTF-16 code units). */
  units: number;
  segments: number;
}

/** How a text is encoded and how many segments it takes. */
export function smsSegments(text: string): Segments {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM7_BASIC.has(ch)) septets += 1;
    else if (GSM7_EXTENDED.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return { encoding: 'GSM-7', units: septets, segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
  const units = text.length; // UTF-16 code units: an emoji takes two
  return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}

/** The first of the wordings that fits one segment, else the shortest. */
export function oneSegment(...wordings: string[]): string {
  const fits = wordings.find((w) => smsSegments(w).segments === 1);
  return fits ?? wordings.reduce((a, b) => (smsSegments(b).segments < smsSegments(a).segments ? b : a));
}
