// The GeoReport v2 documents, built from the public record: services from the city's
// categories, requests from reports (service_request_id = the report's public id, never its tracking code), with
// Vietnamese status notes. Nothing personal: no names, contacts, or another reporter's words.
import { isOpen, type PublicReport, type PublicService } from '../../src/intake/channel-kit.ts';
import { el, elements, type XmlContent, type XmlElement } from './xml.ts';

type Doc = { json: unknown; xml: XmlElement };
type Fields = Record<string, XmlContent | undefined>;

/** The spec this endpoint implements, and when its shape last changed (discovery's changeset). */
export const SPECIFICATION = 'http://wiki.open311.org/GeoReport_v2';
export const CHANGESET = '2026-12-06T00:00:00Z';

const both = (root: string, item: string, rows: Fields[]): Doc => ({
  json: rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined))),
  xml: el(root, rows.map((r) => el(item, elements(r)))),
});

export function discoveryDoc(endpoint: string, contact: string): Doc {
  const json = {
    changeset: CHANGESET,
    contact,
    key_service: 'Khóa API (api_key) do quản trị viên hệ thống cấp cho từng ứng dụng: npx phananh apikey add --name <tên ứng dụng>.',
    endpoints: [{ specification: SPECIFICATION, url: endpoint, changeset: CHANGESET, type: 'production', formats: ['text/xml', 'application/json'] }],
  };
  return {
    json,
    xml: el('discovery', [
      el('changeset', json.changeset), el('contact', json.contact), el('key_service', json.key_service),
      el('endpoints', json.endpoints.map((e) => el('endpoint', [
        el('specification', e.specification), el('url', e.url), el('changeset', e.changeset), el('type', e.type),
        el('formats', e.formats.map((f) => el('format', f))),
      ]))),
    ]),
  };
}

export function servicesDoc(services: PublicService[]): Doc {
  return both('services', 'service', services.map((s) => ({
    service_code: s.code,
    service_name: s.name,
    description: `Phản ánh thuộc lĩnh vực “${s.name}” (${s.nameEn})${s.department ? `; đơn vị phụ trách: ${s.department.name}` : ''}.`,
    metadata: false,
    type: 'realtime',
    keywords: s.keywords.join(', '),
    group: s.department?.name ?? 'Khác',
  })));
}

/** A service's definition: ours have no extra attributes (metadata false), but some clients ask anyway. */
export function serviceDefinitionDoc(code: string): Doc {
  return { json: { service_code: code, attributes: [] }, xml: el('service_definition', [el('service_code', code), el('attributes', [])]) };
}

const HCMC_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/** "14:05 ngày 06/12/2026", Ho Chi Minh City time. */
function when(d: Date): string {
  const p = Object.fromEntries(HCMC_TIME.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.hour}:${p.minute} ngày ${p.day}/${p.month}/${p.year}`;
}

/** open or closed, as GeoReport v2 knows them: still being handled (or still in intake), or not. */
export const openOrClosed = (r: PublicReport): 'open' | 'closed' => (r.status === 'received' || isOpen(r.status) ? 'open' : 'closed');

/**
 * What happened, in Vietnamese, from the ticket's status alone (never an agent's or a ward's free
 * text, which may name people). A report grouped with another request says so and names it; it
 * follows that ticket, so it is open until that ticket is handled.
 */
export function statusNotes(r: PublicReport): string {
  const unit = r.unit ?? 'đơn vị phụ trách';
  const state = {
    received: 'Đã tiếp nhận, đang phân loại và xác định đơn vị xử lý.',
    new: 'Đã tiếp nhận, đang phân loại và xác định đơn vị xử lý.',
    triaged: 'Đã phân loại, đang chuyển đơn vị xử lý.',
    dispatched: `Đã chuyển ${unit} xử lý.`,
    acknowledged: `${unit} đã nhận nhiệm vụ.`,
    in_progress: `${unit} đang xử lý tại hiện trường.`,
    resolved: `${unit} đã xử lý xong${r.resolvedAt ? ` lúc ${when(r.resolvedAt)}` : ''}.`,
    closed: r.resolvedAt ? `Đã xử lý xong lúc ${when(r.resolvedAt)}; hồ sơ đã đóng.` : 'Hồ sơ đã đóng.',
    rejected: 'Không thuộc thẩm quyền xử lý; hồ sơ đã đóng.',
  }[r.status];
  if (!r.groupedWith) return state;
  const joined = `Phản ánh cùng sự việc với yêu cầu số ${r.groupedWith}, đã gộp vào một hồ sơ xử lý chung.`;
  return openOrClosed(r) === 'open' ? `${joined} ${state} Yêu cầu này được cập nhật theo hồ sơ đó.` : `${joined} ${state}`;
}

/** The Open311 client's own request, as it posted it (only for reports that came through this channel). */
interface Posted {
  media_url?: unknown;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function requestFields(r: PublicReport): Fields {
  const posted = (r.own?.payload as { fields?: Posted } | undefined)?.fields;
  const media = typeof posted?.media_url === 'string' && posted.media_url ? posted.media_url : null;
  return {
    service_request_id: r.id,
    status: openOrClosed(r),
    status_notes: statusNotes(r),
    service_name: r.category?.name ?? null,
    service_code: r.category?.code ?? null,
    // Only a client's own words come back (what it posted); residents' words on other channels are theirs.
    description: r.own ? r.own.text : null,
    agency_responsible: r.unit,
    service_notice: null,
    requested_datetime: r.receivedAt.toISOString(),
    updated_datetime: r.updatedAt.toISOString(),
    expected_datetime: iso(r.dueAt),
    address: r.address,
    address_id: null,
    zipcode: null,
    lat: r.lat,
    long: r.lng,
    media_url: media,
  };
}

export const requestsDoc = (reports: PublicReport[]): Doc => both('service_requests', 'request', reports.map(requestFields));

/**
 * The answer to POST requests: the new request's id and what happens next; a request accepted
 * while the database was away has no id yet, only a token to ask for it.
 */
export function createdDoc(id: string | null, token: string | null, notice: string, accountId: string | null): Doc {
  return both('service_requests', 'request', [{ service_request_id: id ?? undefined, token: token ?? undefined, service_notice: notice, account_id: accountId }]);
}

/** GET tokens/:token: the request's id once it is stored (null while it still waits). */
export function tokenDoc(id: string | null, token: string): Doc {
  return both('service_requests', 'request', [{ service_request_id: id, token }]);
}
