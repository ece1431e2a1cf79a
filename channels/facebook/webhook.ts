import { Hono } from 'hono';
import { AppError, bodyLimit, readJsonObject, type ChannelContext } from '../../src/intake/channel-kit.ts';
import { readWebhook, WEBHOOK_MAX_BYTES } from './events.ts';
import { handleEvents } from './inbound.ts';
import { CHANNEL } from './notes.ts';
import type { FacebookSettings } from './settings.ts';
import { sameSecret, verifySignature } from './signature.ts';

// The fanpage's webhook, at /channels/facebook/webhook. GET is Meta checking the URL (the verify
// token we chose, answered with its challenge); POST carries events, signed with the app secret.
// Nothing of a POST is read as JSON before its signature is checked on the raw bytes, and nothing
// is stored from a body whose signature does not match. Meta resends a body it got no 200 for,
// so the answer comes once every report of the body is stored, and only then.

const limit = bodyLimit({
  maxSize: WEBHOOK_MAX_BYTES,
  onError: () => { throw new AppError('payload_too_large', 413, `webhook body larger than ${WEBHOOK_MAX_BYTES} bytes`); },
});

/** The channel's routes (mounted at /channels/facebook). */
export function webhookRoutes(ctx: ChannelContext<FacebookSettings>): Hono {
  const app = new Hono();

  app.get('/webhook', (c) => {
    const token = c.req.query('hub.verify_token');
    if (c.req.query('hub.mode') !== 'subscribe' || token === undefined || token.length > 1000 || !sameSecret(token, ctx.settings.FB_VERIFY_TOKEN)) {
      throw new AppError('facebook_verify_token_invalid', 403, 'hub.mode must be subscribe and hub.verify_token must be FB_VERIFY_TOKEN');
    }
    const challenge = c.req.query('hub.challenge');
    if (!challenge || !/^[\w.-]{1,200}$/.test(challenge)) throw new AppError('facebook_challenge_invalid', 400, 'hub.challenge missing or not a token');
    return c.text(challenge, 200);
  });

  app.post('/webhook', limit, async (c) => {
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (!verifySignature(ctx.settings.FB_APP_SECRET, raw, c.req.header('x-hub-signature-256'))) {
      throw new AppError('facebook_signature_invalid', 403, 'X-Hub-Signature-256 missing or not the HMAC-SHA256 of the body with FB_APP_SECRET');
    }
    // The same bytes (hono keeps the body read above), parsed once signed: invalid_json or json_too_deep otherwise.
    const body = await readJsonObject(c);
    const events = readWebhook(body, ctx.settings.FB_PAGE_ID);
    const tally = await handleEvents(ctx, events);
    const ignored = Object.values(tally.ignored).reduce((a, b) => a + b, 0);
    const line = { channel: CHANNEL, events: events.length, stored: tally.stored, replayed: tally.replayed, receipts: tally.receipts, noted: tally.noted, ignored: tally.ignored };
    if (ignored) ctx.log.info(line, 'facebook webhook: some events ignored');
    else ctx.log.debug(line, 'facebook webhook');
    return c.text('EVENT_RECEIVED', 200);
  });
  return app;
}
