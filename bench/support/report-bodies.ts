// Realistic app-API bodies for the benchmarks: Vietnamese reports on every topic (and some too
// vague to classify), random GPS points over central HCMC, repeat reporters, some anonymous.
// Deterministic for a given seed, so two runs send the same load.

/** Small seeded PRNG (mulberry32): the same seed gives the same reports. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The box the points are drawn from: central HCMC, uniform. */
export const HCMC_BOX = { minLat: 10.7, maxLat: 10.85, minLng: 106.6, maxLng: 106.78 } as const;

const STREETS = [
  'Lê Lợi', 'Nguyễn Huệ', 'Điện Biên Phủ', 'Cách Mạng Tháng Tám', 'Võ Văn Tần', 'Nguyễn Thị Minh Khai', 'Hai Bà Trưng',
  'Trần Hưng Đạo', 'Lý Thường Kiệt', 'Phan Xích Long', 'Nguyễn Văn Linh', 'Huỳnh Tấn Phát', 'Kha Vạn Cân', 'Quang Trung',
  'Lê Văn Sỹ', '3 Tháng 2', 'Âu Cơ', 'Lũy Bán Bích', 'Nguyễn Oanh', 'Phạm Văn Đồng', 'Xô Viết Nghệ Tĩnh', 'Nguyễn Trãi',
  'Hoàng Văn Thụ', 'Bạch Đằng', 'Tô Ký', 'Kinh Dương Vương', 'Nguyễn Văn Cừ', 'Lạc Long Quân',
];
const LANDMARKS = [
  'chợ Bến Thành', 'chợ Bà Chiểu', 'chợ Tân Định', 'trường tiểu học', 'nhà thờ', 'trạm xe buýt', 'cầu vượt', 'công viên',
  'bệnh viện', 'UBND phường', 'chợ Bình Tây', 'siêu thị', 'ngã tư', 'trường THCS',
];

type Slots = { street: string; street2: string; landmark: string; no: number; hem: number; cm: number; hour: number };

/** [category a reporter would pick, template]; `null` category: too vague for the classifier. */
const TEMPLATES: [string | null, (s: Slots) => string][] = [
  ['ngap_nuoc', (s) => `Nước ngập sâu khoảng ${s.cm}cm trên đường ${s.street}, xe máy chết máy hàng loạt`],
  ['ngap_nuoc', (s) => `Mưa chưa tới 30 phút mà đoạn ${s.street} gần ${s.landmark} đã ngập, nắp cống trào nước ngược lên`],
  ['ngap_nuoc', (s) => `Triều cường lên, hẻm ${s.hem} ${s.street} ngập tới mắt cá chân, cống thoát nước bị nghẹt rác`],
  ['rac_thai', (s) => `Bãi rác tự phát ở đầu hẻm ${s.hem} ${s.street} bốc mùi hôi thối suốt mấy ngày nay`],
  ['rac_thai', (s) => `Có người đổ rác thải xây dựng trộm ven kênh gần ${s.landmark}, ruồi muỗi rất nhiều`],
  ['rac_thai', (s) => `Thùng rác công cộng trên đường ${s.street} đầy tràn ra vỉa hè, hai ngày chưa ai thu gom`],
  ['tieng_on', (s) => `Quán karaoke ở số ${s.no} ${s.street} hát to đến ${s.hour} giờ sáng, người dân không ngủ được`],
  ['tieng_on', (s) => `Nhà hàng xóm trong hẻm ${s.hem} mở loa kẹo kéo hát karaoke ồn ào từ chiều tới đêm khuya`],
  ['chieu_sang', (s) => `Đèn đường trên đoạn ${s.street} gần ${s.landmark} bị hư, tối om cả tuần nay`],
  ['chieu_sang', (s) => `Cột đèn số ${s.no} đường ${s.street} đèn chớp tắt liên tục, buổi tối đi qua rất nguy hiểm`],
  ['lan_chiem', (s) => `Quán ăn lấn chiếm vỉa hè đường ${s.street}, người đi bộ phải đi xuống lòng đường`],
  ['lan_chiem', (s) => `Bán hàng rong và giữ xe chiếm dụng hết vỉa hè trước ${s.landmark}`],
  ['xay_dung', (s) => `Nhà số ${s.no} ${s.street} đang xây thêm tầng không phép, làm nứt tường nhà bên cạnh`],
  ['xay_dung', (s) => `Công trình trong hẻm ${s.hem} ${s.street} đổ vật liệu xây dựng ra đường, bụi mù mịt`],
  ['giao_thong', (s) => `Ổ gà lớn giữa đường ${s.street} đoạn gần ${s.landmark}, nhiều người đi xe máy bị té`],
  ['giao_thong', (s) => `Đèn tín hiệu tại giao lộ ${s.street} – ${s.street2} không hoạt động, kẹt xe kéo dài`],
  ['cay_xanh', (s) => `Cây xanh trên đường ${s.street} bị nghiêng, nhánh cây gãy treo lơ lửng sau cơn mưa`],
  ['cay_xanh', (s) => `Cây dầu lớn trước ${s.landmark} có dấu hiệu mục gốc, sợ cây ngã đè người đi đường`],
  ['cap_nuoc', (s) => `Khu vực hẻm ${s.hem} ${s.street} bị mất nước sinh hoạt từ sáng hôm qua đến giờ`],
  ['cap_nuoc', (s) => `Ống nước bị bể trên đường ${s.street}, nước chảy lênh láng ra mặt đường rất lãng phí`],
  ['an_ninh', (s) => `Đêm nào cũng có nhóm thanh niên tụ tập đua xe trên đường ${s.street}, rất mất an ninh`],
  ['an_ninh', (s) => `Nhà tôi ở hẻm ${s.hem} ${s.street} vừa bị trộm xe máy, đề nghị công an tăng cường tuần tra`],
  [null, (s) => `Đề nghị cơ quan chức năng kiểm tra tình trạng trước nhà số ${s.no} ${s.street}, đã báo nhiều lần`],
  [null, (s) => `Tôi muốn phản ánh sự việc ở gần ${s.landmark} trên đường ${s.street}, mong được xử lý sớm`],
];

const FAMILY = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Phan', 'Vũ', 'Võ', 'Đặng', 'Bùi', 'Đỗ'];
const GIVEN = ['Văn An', 'Thị Bích', 'Minh Châu', 'Quốc Dũng', 'Thị Hoa', 'Thanh Hải', 'Ngọc Lan', 'Đức Minh', 'Thị Thu', 'Hoàng Nam'];
// Mobile prefixes in use (Viettel, Vinaphone, Mobifone); the rest of the number is random.
const MOBILE = ['090', '093', '070', '079', '077', '091', '094', '088', '083', '085', '096', '097', '098', '086', '032', '035', '039'];

/**
 * `count` JSON bodies for POST /api/v1/reports. About 60% give a phone drawn from a pool a third
 * the size of the run (so some residents report again), 15% an email, the rest are anonymous;
 * 30% pick their category. `tag` keeps bodies of different phases apart.
 */
export function reportBodies(count: number, seed: number, tag = ''): string[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const phones = Array.from({ length: Math.max(1, Math.ceil(count / 3)) }, () =>
    `${pick(MOBILE)}${String(int(0, 9_999_999)).padStart(7, '0')}`.replace(/^(\d{4})(\d{3})(\d{3})$/, '$1 $2 $3'));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const [category, template] = pick(TEMPLATES);
    const text = template({
      street: pick(STREETS), street2: pick(STREETS), landmark: pick(LANDMARKS),
      no: int(1, 420), hem: int(2, 980), cm: int(2, 8) * 10, hour: int(1, 3),
    });
    const who = rnd();
    const citizen = who < 0.6 ? { phone: pick(phones), ...(rnd() < 0.5 ? { name: `${pick(FAMILY)} ${pick(GIVEN)}` } : {}) }
      : who < 0.75 ? { email: `nguoidan${tag}${int(1, 99_999)}@example.vn` }
      : {};
    out.push(JSON.stringify({
      text,
      ...(category && rnd() < 0.3 ? { category } : {}),
      lat: Number((HCMC_BOX.minLat + rnd() * (HCMC_BOX.maxLat - HCMC_BOX.minLat)).toFixed(6)),
      lng: Number((HCMC_BOX.minLng + rnd() * (HCMC_BOX.maxLng - HCMC_BOX.minLng)).toFixed(6)),
      ...(rnd() < 0.25 ? { address: `${int(1, 420)} ${pick(STREETS)}` } : {}),
      citizen,
    }));
  }
  return out;
}
