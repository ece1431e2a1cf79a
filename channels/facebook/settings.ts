import { z } from 'zod';

/** Where the Graph API is unless FB_GRAPH_URL says otherwise (the version the channel is written against). */
export const DEFAULT_GRAPH_URL = 'https://graph.facebook.com/v21.0';

/** A secret as the Meta app dashboard shows it: one word, no spaces (a pasted line break is a mistake). */
const secret = (what: string, min: number) => z.string().min(min, `must be ${what}`).max(1000).regex(/^\S+$/, 'must not contain spaces');

/** The fanpage's Meta app and Page: the channel is on when these are set. */
export const facebookSettings = z.object({
  /** Signs every webhook (X-Hub-Signature-256) and the Graph calls (appsecret_proof). */
  FB_APP_SECRET: secret('the Meta app\'s secret (App settings → Basic)', 16),
  /** What we typed into the webhook's "Verify token" box; Meta sends it back when it checks the URL. */
  FB_VERIFY_TOKEN: secret('at least 8 characters', 8),
  /** A long-lived Page access token with pages_messaging (and the comment permissions, see README, Facebook fanpage). */
  FB_PAGE_ACCESS_TOKEN: secret('a Page access token', 20),
  /** Where the Graph API is, with its version (tests point it at a local fake). */
  FB_GRAPH_URL: z.url({ protocol: /^https?$/ }).optional().transform((v) => (v ?? DEFAULT_GRAPH_URL).replace(/\/+$/, '')),
  /** The fanpage's id: when set, events of any other Page the app is subscribed to are ignored. */
  FB_PAGE_ID: z.string().regex(/^\d{5,25}$/, 'must be the Page\'s numeric id').optional(),
});

export type FacebookSettings = z.infer<typeof facebookSettings>;
