// One Twilio account, two channels: the 1022 phone line and SMS to the same number. They share
// the account's settings, webhook signature check and REST client, and a caller is answered by
// SMS, so they live in one folder (a channel never imports another's).
export { phone } from './voice.ts';
export { sms } from './sms.ts';
