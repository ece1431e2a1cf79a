// The reasons the engine records with each decision (identify, classify, locate, route, group,
// and an agent's regrouping), once: their codes, and the arguments each one's message carries.
// The stored reasons stay as the engine writes them, in English (operators and `replay` read
// them; replay output is a contract); the console API reads each message's arguments back with
// `reasonArgs`, so that the console can say the same in Vietnamese (web/lib/reasons.ts) without
// parsing English itself. No imports: the browser imports the codes too.

export const REASON_CODES = [
  // identify
  'identity_invalid', 'citizen_anonymous', 'citizen_new', 'citizen_known', 'citizen_merged',
  // classify
  'category_refined', 'category_from_reporter', 'category_contradicted', 'category_model', 'category_uncertain',
  // locate (area_<source> of the address reader: new_name, old_address, old_district, bare_name)
  'area_gps', 'area_outside', 'area_new_name', 'area_old_address', 'area_old_district', 'area_bare_name', 'area_ambiguous',
  'area_landmark', 'area_street', 'area_street_table', 'area_likely', 'area_unknown',
  // route
  'department_by_category',
  // group
  'group_skipped', 'group_new', 'same_citizen', 'duplicate', 'hotspot', 'category_from_ticket', 'area_from_ticket',
  'area_from_ticket_later', 'reopen',
  'chosen_ticket', 'chosen_ticket_refused',
  // an agent
  'moved_to_new_ticket',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export const isReasonCode = (code: string): code is ReasonCode => (REASON_CODES as readonly string[]).includes(code);

/** What a reason's message says, as named values: unit and landmark names, category codes, numbers, lists. */
export type ReasonArgs = Record<string, string | number | string[]>;

/** Messages are short; a longer one is not read (bounded before any pattern runs). */
const MESSAGE_MAX = 1000;
const list = (s: string) => s.split(/, | \+ /).map((x) => x.trim()).filter(Boolean);
const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

/** Each code's reader: the message's pattern and the names of what it captures (linear patterns, anchored). */
const READERS: Record<ReasonCode, (m: string) => ReasonArgs> = {
  identity_invalid: (m) => pick(/^ignored an invalid (\w+)$/.exec(m), (x) => ({ kind: x[1]! })),
  citizen_anonymous: () => ({}),
  citizen_new: (m) => pick(/^new citizen from (.+)$/.exec(m), (x) => ({ kinds: list(x[1]!) })),
  citizen_known: (m) => pick(/^known by (.+)$/.exec(m), (x) => ({ kinds: list(x[1]!) })),
  citizen_merged: (m) => pick(/^merged (\d+) citizens/.exec(m), (x) => ({ count: num(x[1])! })),
  category_refined: (m) => pick(/topic model: (\S+) \(([\d.]+)\)$/.exec(m), (x) => ({ category: x[1]!, confidence: num(x[2])! })),
  category_from_reporter: (m) => pick(/^reporter chose (\S+)$/.exec(m), (x) => ({ category: x[1]! })),
  category_contradicted: (m) => pick(/^text reads as (\S+) \(([\d.]+)\), not the reporter's (\S+?);/.exec(m),
    (x) => ({ category: x[1]!, confidence: num(x[2])!, picked: x[3]! })),
  category_model: (m) => pick(/^topic model: (\S+) \(([\d.]+)\)$/.exec(m), (x) => ({ category: x[1]!, confidence: num(x[2])! })),
  category_uncertain: (m) => pick(/^unsure; best guess (\S+) \(([\d.]+)\)/.exec(m), (x) => ({ guess: x[1]!, confidence: num(x[2])! })),
  area_gps: (m) => pick(/^point lies in (.+)$/.exec(m), (x) => ({ unit: x[1]! })),
  area_outside: () => ({}),
  area_new_name: (m) => placed(m),
  area_old_address: (m) => placed(m),
  area_old_district: (m) => placed(m),
  area_bare_name: (m) => placed(m),
  area_ambiguous: (m) => pick(/^(address|text): .*? -> one of (.+)$/.exec(m), (x) => ({ source: x[1]!, units: list(x[2]!) })),
  area_landmark: (m) => pick(/^text: names (.+) -> (.+)$/.exec(m), (x) => ({ landmark: x[1]!, unit: x[2]! })),
  area_street_table: (m) => pick(/^text: (.+) runs through (.+?) alone of its candidates \(the city's street table\)$/.exec(m), (x) => ({ streets: list(x[1]!), unit: x[2]! })),
  area_street: (m) => pick(/^text: (.+) seen in (.+?) \(reports placed/.exec(m), (x) => ({ streets: list(x[1]!), unit: x[2]! })),
  area_likely: (m) => pick(/(?:likely|went to|name of|also name) ([^,;()]+?)(?: \(it kept|, one of|; an agent)/.exec(m), (x) => ({ unit: x[1]! })),
  area_unknown: () => ({}),
  department_by_category: (m) => pick(/^(\S+) -> (\S+)$/.exec(m), (x) => ({ category: x[1]!, department: x[2]! })),
  group_skipped: () => ({}),
  group_new: () => ({}),
  same_citizen: (m) => pick(/^same citizen, (same topic|same house, topic unclear) as ticket (\S+)$/.exec(m),
    (x) => ({ topic: x[1] === 'same topic' ? 'same' : 'unclear', ticket: x[2]! })),
  duplicate: (m) => pick(/within ([\d.]+) h of its latest report$/.exec(m), (x) => ({ hours: num(x[1])! })),
  hotspot: (m) => pick(/^(\d+) tickets on this topic here were closed in the last (\d+) days$/.exec(m), (x) => ({ count: num(x[1])!, days: num(x[2])! })),
  category_from_ticket: (m) => pick(/^topic of the incident's ticket: (\S+), (?:not (\S+)|the report's own unsure)$/.exec(m), (x) => ({ category: x[1]!, ...(x[2] ? { was: x[2] } : {}) })),
  area_from_ticket: (m) => pick(/^unit of the incident's ticket: (\S+)$/.exec(m), (x) => ({ unitCode: x[1]! })),
  area_from_ticket_later: (m) => pick(/^unit its ticket got from a later report: (\S+)$/.exec(m), (x) => ({ unitCode: x[1]! })),
  reopen: (m) => pick(/^the reporter of ticket (\S+), resolved (today|(\d+) d ago), says its problem goes on: reopened$/.exec(m),
    (x) => ({ ticket: x[1]!, days: x[3] === undefined ? 0 : num(x[3])! })),
  chosen_ticket: (m) => pick(/^the reporter chose ticket (\S+) \(open, (\S+), (?:(\d+) m away|in (\S+))\)$/.exec(m),
    (x) => ({ ticket: x[1]!, category: x[2]!, ...(x[3] !== undefined ? { metres: num(x[3])! } : {}), ...(x[4] && x[4] !== 'one' ? { unitCode: x[4] } : {}) })),
  chosen_ticket_refused: (m) => pick(/^the reporter chose ticket (\S+), but (.{1,300}); grouped as usual$/.exec(m), (x) => ({ ticket: x[1]!, ...refusedBecause(x[2]!) })),
  moved_to_new_ticket: (m) => pick(/^user:([^:\s]+): ([\s\S]*)$/.exec(m), (x) => ({ by: x[1]!, why: x[2]! })),
};

/** Why a reporter's chosen ticket was not joined (grouping.ts `decideChosen`), as a cause and its value. */
function refusedBecause(why: string): ReasonArgs {
  if (why === 'it was merged into another ticket') return { cause: 'merged' };
  if (why === 'no such ticket') return { cause: 'unknown' };
  if (why === 'the report names no place in its unit') return { cause: 'place' };
  const status = /^it is (\w+)$/.exec(why);
  if (status) return { cause: 'status', status: status[1]! };
  const topic = /^it is about (\S+), the report about (\S+)$/.exec(why);
  if (topic) return { cause: 'topic', category: topic[1]!, was: topic[2]! };
  const far = /^its point is (\d+) m away/.exec(why);
  if (far) return { cause: 'far', metres: num(far[1])! };
  return {};
}

function pick(x: RegExpExecArray | null, f: (x: RegExpExecArray) => ReasonArgs): ReasonArgs {
  return x ? f(x) : {};
}

/** "address: ward 12 of district 3 -> Phường Xuân Hòa": where the words were, and the unit. */
function placed(m: string): ReasonArgs {
  return pick(/^(address|text): .* -> (.+)$/.exec(m), (x) => ({ source: x[1]!, unit: x[2]! }));
}

/**
 * The arguments of a stored reason's message (empty when the code is unknown or the message is
 * not in its code's form: the console then says the code's meaning without them).
 */
export function reasonArgs(code: string, message: string): ReasonArgs {
  if (!isReasonCode(code) || typeof message !== 'string' || message.length > MESSAGE_MAX) return {};
  return READERS[code](message);
}
