import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CityProfile, CityWording } from './profile.ts';

// Resolved when read, not at import: the edge entry (no file system) imports the wording only.
const seed = (f: string) => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../seed', f);

/** The words of Ho Chi Minh City's 1022 service. */
export const HCMC_WORDING: CityWording = {
  hotline: 'Tổng đài 1022',
  portalTitle: 'Cổng phản ánh, kiến nghị 1022 – TP. Hồ Chí Minh',
  siteName: 'Phản ánh 1022',
  receivedNotice: (code) => `Tổng đài 1022 đã nhận phản ánh của bạn, mã ${code}. Trả lời tin này nếu cần bổ sung.`,
  dispatchedNotice: (code, unit) => `Phản ánh ${code} đã được chuyển ${unit ? `${unit} ` : 'đơn vị '}xử lý.`,
  resolvedNotice: (code, result) => `Phản ánh ${code} của bạn đã được xử lý xong.${result ? ` Kết quả: ${result}` : ''} Cảm ơn bạn đã đồng hành cùng thành phố.`,
};

/**
 * Ho Chi Minh City: the 168 units in force since 1 July 2025, the 441 former wards and the old ->
 * new mapping (seed/hcmc, see PROVENANCE.md), the 1022 service's categories and wording.
 */
export const HCMC: CityProfile = {
  id: 'hcmc',
  name: 'Thành phố Hồ Chí Minh',
  // The old centre (Bến Thành, Sài Gòn), where most residents look first.
  mapCentre: { lat: 10.7756, lng: 106.7005, zoom: 14 },
  get units() {
    return { file: seed('hcmc/wards-2025.geojson'), codeProp: 'code', nameProp: 'name' };
  },
  get formerUnits() {
    return { wards: seed('hcmc/wards-pre2025.json'), mapping: seed('hcmc/ward-mapping-2025.json'), merges: seed('hcmc/ward-merges-pre2025.json') };
  },
  get places() {
    return { streets: seed('hcmc/streets.json'), landmarks: seed('hcmc/landmarks.json'), streetUnits: seed('hcmc/street-units.json'), initials: seed('hcmc/street-initials.json') };
  },
  // Districts merged into Thủ Đức City in 2021 that residents still name.
  districtAliases: { 'quan 2': 'thu duc', 'quan 9': 'thu duc', 'quan thu duc': 'thu duc' },
  get categories() {
    return seed('categories.json');
  },
  get topics() {
    return seed('topics-vi.jsonl');
  },
  wording: HCMC_WORDING,
};
