import type { ChannelAdapter } from '../src/intake/channel-adapter.ts';
import { mobileApp } from './mobile-app/index.ts';
import { webForm } from './web-form/index.ts';

/** Every channel, one line each. A channel whose configuration is absent stays off. */
export const allChannels: ChannelAdapter[] = [
  webForm,
  mobileApp,
];
