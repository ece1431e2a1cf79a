import { defineChannel, type MediaPolicy } from '../../src/intake/channel-kit.ts';
import { parseEvent } from './parse.ts';
import { sendToCitizen } from './send.ts';
import { facebookSettings, type FacebookSettings } from './settings.ts';
import { webhookRoutes } from './webhook.ts';

// The city's fanpage: Messenger conversations and comments on the Page's posts become reports;
// answers go back by Messenger or under the comment. See README, Facebook fanpage, for the Meta app.

/**
 * Where photos and voice clips named by Messenger and by comments are fetched from: Meta's CDNs,
 * and the Graph origin the operator configured (a local fake in tests). No credentials: Meta's
 * attachment URLs are signed in themselves, and the Page token stays with the Graph calls.
 */
export function facebookMedia(s: FacebookSettings): MediaPolicy {
  return { hosts: ['.fbcdn.net', '.fbsbx.com', '.facebook.com'], trustedOrigins: [new URL(s.FB_GRAPH_URL).origin] };
}

/** The fanpage (Messenger and comments): reports in, acknowledgements and answers out. */
export const facebook = defineChannel<FacebookSettings>({
  name: 'facebook',
  label: { vi: 'Facebook', en: 'Facebook', background: '#e7f0fd', text: '#0b3d91' },
  settings: facebookSettings,
  routes: webhookRoutes,
  parse: parseEvent,
  replies: 'send',
  send: sendToCitizen,
  media: facebookMedia,
});
