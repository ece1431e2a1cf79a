// A small XML writer for the GeoReport v2 documents: elements, text and nothing else (no
// attributes, namespaces or mixed content), UTF-8 with the declaration the spec requires.

/** An element's content: text (a number or boolean as written), empty (null), or child elements. */
export type XmlContent = string | number | boolean | null | XmlElement[];

export interface XmlElement {
  name: string;
  content: XmlContent;
}

/** An element; `undefined` content leaves it out of its parent (see `elements`). */
export const el = (name: string, content: XmlContent): XmlElement => ({ name, content });

/** Elements from an object's keys, in order, skipping undefined values. */
export function elements(fields: Record<string, XmlContent | undefined>): XmlElement[] {
  return Object.entries(fields).flatMap(([name, content]) => (content === undefined ? [] : [el(name, content)]));
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// Characters XML 1.0 cannot carry at all (not even escaped): C0 controls other than tab, line feed
// and carriage return, U+FFFE/U+FFFF, and halves of surrogate pairs on their own.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text as XML character data: markup characters escaped, characters XML cannot carry replaced by U+FFFD. */
export function escapeText(s: string): string {
  return s.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

function write(node: XmlElement, out: string[]): void {
  // Names are ours, never a client's: a bad one is a programming error.
  if (!NAME.test(node.name)) throw new Error(`invalid XML element name: ${node.name}`);
  const { name, content } = node;
  if (content === null || content === '' || (Array.isArray(content) && content.length === 0)) {
    out.push(`<${name}/>`);
  } else if (Array.isArray(content)) {
    out.push(`<${name}>`);
    for (const child of content) write(child, out);
    out.push(`</${name}>`);
  } else {
    out.push(`<${name}>${escapeText(String(content))}</${name}>`);
  }
}

/** A whole document: the declaration, then the root element. */
export function xmlDocument(root: XmlElement): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  write(root, out);
  out.push('\n');
  return out.join('');
}
