/** Landmarks whose ward is known (PROVENANCE.md sanity checks). */
export const PLACES = {
  benThanh: { lat: 10.7725, lng: 106.698, code: '26743', name: 'Phường Bến Thành' },
  saiGon: { lat: 10.7798, lng: 106.699, code: '26740', name: 'Phường Sài Gòn' },
  binhTay: { lat: 10.7496, lng: 106.651 },
  vungTau: { lat: 10.346, lng: 107.098 },
  outside: { lat: 21.0285, lng: 105.8542 }, // Hà Nội: outside every HCMC unit
} as const;

let n = 0;

/** A valid app report body; override any field. */
export function reportBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  n++;
  return {
    text: `Nước ngập sâu trước chợ Bến Thành, xe máy chết máy (${n})`,
    lat: PLACES.benThanh.lat,
    lng: PLACES.benThanh.lng,
    citizen: { phone: `0903 ${String(100000 + n).slice(-6, -3)} ${String(100000 + n).slice(-3)}`, name: 'Nguyễn Văn Thử' },
    ...over,
  };
}

/** Minimal valid image bytes for upload tests. */
export const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** A member of staff acting in core calls (their audit name: `user:agent`). */
export const AGENT = { id: 0, username: 'agent', role: 'agent', areaCodes: [] as string[] } as const satisfies { id: number; username: string; role: 'agent'; areaCodes: string[] };
