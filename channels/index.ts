import type { AnyChannel } from '../src/intake/channel-kit.ts';
import { email } from './email/index.ts';
import { facebook } from './facebook/index.ts';
import { mobileApp } from './mobile-app/index.ts';
import { open311 } from './open311/index.ts';
import { phone, sms } from './twilio/index.ts';
import { webForm } from './web-form/index.ts';

/** Every channel, one line each. A channel whose settings are absent stays off. */
export const allChannels: AnyChannel[] = [
  webForm,
  mobileApp,
  phone,
  sms,
  facebook,
  email,
  open311,
];
