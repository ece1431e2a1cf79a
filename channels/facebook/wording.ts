// What a citizen reads from the fanpage that is the channel's own (the notices' words are the
// city profile's, ctx.city), and what an agent reads when a message cannot go.

const trackingLink = (publicUrl: string | undefined, code?: string) =>
  publicUrl ? `${publicUrl.replace(/\/+$/, '')}/track${code ? `/${code}` : ''}` : '';

/** The answer to "Get Started": how to report through the fanpage. */
export function greeting(hotline: string, publicUrl: string | undefined): string {
  const link = trackingLink(publicUrl);
  return [
    `Xin chào! Đây là kênh tiếp nhận phản ánh, kiến nghị của ${hotline} trên Facebook.`,
    'Để phản ánh, bạn hãy nhắn cho Trang:',
    '• sự việc cần phản ánh (ví dụ: ngập nước, rác thải, đèn đường hỏng, lấn chiếm vỉa hè);',
    '• địa chỉ cụ thể: số nhà, tên đường, phường/xã;',
    '• ảnh chụp hiện trường nếu có.',
    `Các tin nhắn gửi liên tiếp trong vài phút được gộp thành một phản ánh. Bạn sẽ nhận được mã phản ánh để theo dõi kết quả${link ? ` tại ${link}` : ''}.`,
  ].join('\n');
}

/**
 * A notice as a public reply under the citizen's comment: anyone can read it, so it holds the
 * report's code and the unit it went to, never the result the ward wrote (it may name people or
 * addresses) nor anything the citizen told us in private.
 */
export function publicNotice(kind: string, code: string, body: string, hotline: string, publicUrl: string | undefined): string {
  switch (kind) {
    case 'received':
      return `${hotline} đã tiếp nhận phản ánh của bạn, mã ${code}. Nếu cần bổ sung địa chỉ, số điện thoại hay ảnh, vui lòng nhắn tin riêng cho Trang kèm mã này, không ghi thông tin cá nhân vào bình luận công khai.`;
    case 'dispatched':
      // The city's dispatch notice: the code and the unit's name, both public.
      return body;
    case 'resolved': {
      const link = trackingLink(publicUrl, code);
      return `Phản ánh ${code} đã được xử lý xong.${link ? ` Xem kết quả tại ${link}.` : ''} Cảm ơn bạn đã phản ánh.`;
    }
    default:
      return body;
  }
}

/** Why a message could not go by Messenger, as the ticket shows it. */
export const unreachable = {
  noticeAfterDay: 'Không gửi được thông báo qua Messenger: đã quá 24 giờ kể từ tin nhắn cuối của người dân, Facebook không cho Trang gửi tin tự động. Cán bộ vẫn có thể trả lời trong vòng 7 ngày, hoặc liên hệ qua kênh khác.',
  afterWeek: 'Không thể nhắn tin cho người dân qua Messenger nữa: đã quá 7 ngày kể từ tin nhắn cuối của họ. Vui lòng liên hệ qua số điện thoại hoặc email nếu có.',
  neverWrote: 'Người dân chưa từng nhắn tin cho Trang nên không thể nhắn cho họ qua Messenger. Vui lòng liên hệ qua kênh khác.',
  noPsid: 'Người dân không có tài khoản Messenger đã nhắn cho Trang để nhắn lại.',
  privateAfterWeek: 'Đã quá 7 ngày kể từ khi người dân bình luận: Facebook không cho phép trả lời riêng bình luận này nữa.',
  privateTwice: 'Bình luận này đã được trả lời riêng một lần; Facebook chỉ cho phép một tin nhắn riêng cho mỗi bình luận.',
} as const;
