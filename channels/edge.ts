import type { AnyChannel } from '../src/intake/channel-kit.ts';
import { mobileApp } from './mobile-app/index.ts';
import { open311 } from './open311/index.ts';
import { webForm } from './web-form/index.ts';

/**
 * The channels the edge entry (Cloudflare Workers) serves: those with no Node-only SDK (the web
 * form, the app API, Open311, whose clients are configured with the public URL). Providers'
 * webhooks (Twilio, Facebook) and mailboxes are served by the Node processes.
 */
export const edgeChannels: AnyChannel[] = [
  webForm,
  mobileApp,
  open311,
];
