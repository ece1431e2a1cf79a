import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CityProfile } from './profile.ts';

const SEED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../seed');

/**
 * Ho Chi Minh City: the 168 units in force since 1 July 2025, the 441 former wards and the old ->
 * new mapping (seed/hcmc, see PROVENANCE.md), the 1022 service's categories and wording.
 */
export const HCMC: CityProfile = {
  id: 'hcmc',
  name: 'Thành phố Hồ Chí Minh',
  units: { file: path.join(SEED, 'hcmc/wards-2025.geojson'), codeProp: 'code', nameProp: 'name' },
  formerUnits: { wards: path.join(SEED, 'hcmc/wards-pre2025.json'), mapping: path.join(SEED, 'hcmc/ward-mapping-2025.json') },
  // Districts merged into Thủ Đức City in 2021 that residents still name.
  districtAliases: { 'quan 2': 'thu duc', 'quan 9': 'thu duc', 'quan thu duc': 'thu duc' },
  categories: path.join(SEED, 'categories.json'),
  topics: path.join(SEED, 'topics-vi.jsonl'),
  wording: {
    hotline: 'Tổng đài 1022',
    portalTitle: 'Cổng phản ánh, kiến nghị 1022 – TP. Hồ Chí Minh',
    siteName: 'Phản ánh 1022',
    resolvedNotice: (code, result) => `Phản ánh ${code} của bạn đã được xử lý xong.${result ? ` Kết quả: ${result}` : ''} Cảm ơn bạn đã đồng hành cùng thành phố.`,
  },
};
