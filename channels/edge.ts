import type { AnyChannel } from '../src/intake/channel-kit.ts';
import { mobileApp } from './mobile-app/index.ts';
import { webForm } from './web-form/index.ts';

/**
 * The channels the edge entry (Cloudflare Workers) serves: those with no Node-only SDK. Providers'
 * webhooks (Twilio, Facebook) and mailboxes are served by the Node processes.
 */
export const edgeChannels: AnyChannel[] = [
  webForm,
  mobileApp,
];
