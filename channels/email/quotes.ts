// A reply carries the whole conversation below (or around) what the citizen just wrote: our
// acknowledgement, their first message, a ward's answer. An agent reads the new words; the
// history is folded away (kept whole in the stored payload). Mail clients mark it in their own
// ways, in English and in Vietnamese; these are the ones residents use (Gmail, Outlook, Apple
// Mail, Thunderbird, Yahoo, Zimbra-based government webmail).

/** "On ... wrote:" and its translations, on one line or wrapped onto a second one. */
const ATTRIBUTION = /^(?:on|vào|vao|le|am|el)\b.{0,300}(?:wrote|đã viết|viết|a écrit|schrieb|escribió)\s*:\s*$/i;
/** Outlook's and others' separators above a copied header block. */
const ORIGINAL_SEPARATOR = /^\s*-{2,}\s*(?:original message|thư gốc|tin nhắn gốc|thư ban đầu)\s*-{2,}\s*$/i;
const UNDERSCORES = /^\s*_{10,}\s*$/;
/** The first line of a copied header block ("From: ..."), and the lines that follow it in one. */
const HEADER_FROM = /^\s*\*?(?:from|từ|de|von)\s*:\*?\s*\S/i;
const HEADER_NEXT = /^\s*\*?(?:sent|date|đã gửi|ngày gửi|ngày|gửi|to|đến|tới|subject|chủ đề|tiêu đề|cc|envoyé|gesendet)\s*:\*?/i;
/** Where a forwarded message begins: what follows is what the citizen wants us to read. */
const FORWARD_MARKER = /^\s*(?:-{2,}\s*(?:forwarded message|thư (?:đã )?chuyển tiếp|tin nhắn (?:đã )?chuyển tiếp|message transféré)\s*-{2,}|begin forwarded message:|bắt đầu thư chuyển tiếp:)\s*$/i;
/** Subject prefixes of a forward. */
const FORWARD_SUBJECT = /^\s*(?:\[[^\]]{0,40}\]\s*)?(?:fwd?|tr|chuyển tiếp|ct|wg|rv)\s*:/i;

/** Whether a message forwards another (its subject or a marker in its text says so). */
export function isForward(subject: string, text: string): boolean {
  if (FORWARD_SUBJECT.test(subject)) return true;
  return text.split('\n', 400).some((l) => FORWARD_MARKER.test(l));
}

/** Where the quoted history begins in `lines` (an index), or -1 when nothing is quoted. */
function historyStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length > 600) continue; // a paragraph, not a separator (and bounds the patterns' work)
    if (FORWARD_MARKER.test(line)) return -1; // a forward's copied headers are its content
    if (ORIGINAL_SEPARATOR.test(line)) return i;
    if (UNDERSCORES.test(line) && HEADER_FROM.test((lines[i + 1] ?? '').slice(0, 600))) return i;
    if (HEADER_FROM.test(line) && lines.slice(i + 1, i + 5).filter((l) => HEADER_NEXT.test(l.slice(0, 100))).length >= 2) return i;
    // Gmail wraps a long attribution: "On Mon, 12 May 2025 at 10:00, Tổng đài 1022 <\n1022@tphcm.gov.vn> wrote:"
    const span = ATTRIBUTION.test(line) ? 1
      : i + 1 < lines.length && /^(?:on|vào|vao|le|am|el)\b/i.test(line) && ATTRIBUTION.test(`${line} ${lines[i + 1]!.trim().slice(0, 300)}`) ? 2 : 0;
    if (span) {
      // Followed by `>` lines, the reply may answer between them (bottom-posting): the quotes
      // alone are folded, below. Followed by plain lines, all below is the copied history.
      const next = lines.slice(i + span).find((l) => l.trim() !== '');
      if (next === undefined || !/^\s*>/.test(next)) return i;
    }
  }
  return -1;
}

/** What a reply says, and the history it quotes. */
export interface FoldedText {
  /** The citizen's own words. */
  text: string;
  /** What was folded away (empty when nothing was). */
  history: string;
}

/**
 * Splits a reply into what is new and the quoted history: below the first attribution line or
 * copied header block (top-posting), and every `>` line elsewhere (bottom-posting, interleaved).
 * A forward is left whole: the forwarded messages are what the citizen sends us.
 */
export function foldQuotes(body: string, subject = ''): FoldedText {
  const text = body.replace(/\r\n?/g, '\n');
  if (isForward(subject, text)) return { text: text.trim(), history: '' };
  const lines = text.split('\n');
  const start = historyStart(lines);
  const head = start >= 0 ? lines.slice(0, start) : lines;
  const tail = start >= 0 ? lines.slice(start) : [];
  const history: string[] = [];
  const kept: string[] = [];
  // Whether the next non-blank line after each is quoted (one pass from the end).
  const quotedNext: boolean[] = new Array<boolean>(head.length).fill(false);
  for (let n = head.length - 2, q = false; n >= 0; n--) {
    const after = head[n + 1]!;
    if (after.trim() !== '') q = /^\s*>/.test(after);
    quotedNext[n] = q;
  }
  // The attribution right above a `>` block belongs to the history (with its first half, when wrapped).
  const attribution = new Set<number>();
  for (const [n, line] of head.entries()) {
    if (!quotedNext[n] || line.length > 400 || !/(?:wrote|viết|écrit|schrieb|escribió)\s*:\s*$/i.test(line)) continue;
    attribution.add(n);
    if (n > 0 && !ATTRIBUTION.test(line.trim()) && ATTRIBUTION.test(`${head[n - 1]!.trim().slice(0, 300)} ${line.trim()}`)) attribution.add(n - 1);
  }
  for (const [n, line] of head.entries()) {
    if (/^\s*>/.test(line) || attribution.has(n)) history.push(line);
    else kept.push(line);
  }
  return { text: kept.join('\n').replace(/\n{3,}/g, '\n\n').trim(), history: [...history, ...tail].join('\n').trim() };
}

/** A subject without its reply and forward prefixes ("Re: TR: Fwd: ..."). */
export function bareSubject(subject: string): string {
  let s = subject.trim();
  for (let i = 0; i < 10; i++) {
    const next = s.replace(/^(?:\[[^\]]{0,40}\]\s*)?(?:re|aw|sv|tr|fwd?|wg|rv|trả lời|tl|chuyển tiếp|ct)\s*(?:\[\d+\])?\s*:\s*/i, '');
    if (next === s) break;
    s = next;
  }
  return s.trim();
}
