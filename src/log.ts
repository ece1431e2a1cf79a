import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Personal data (phones, emails, names, free text) and secrets are
 * redacted by path wherever they may appear, so a careless `log.info({ report })` stays safe.
 */
export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: { app: 'phananh' },
    redact: {
      paths: [
        '*.password', '*.password_hash', '*.phone', '*.email', '*.name', '*.national_id',
        '*.text', '*.citizen', 'citizen', 'password', 'req.headers.cookie', 'req.headers.authorization',
        'config.SESSION_SECRET', 'config.TWILIO_AUTH_TOKEN', 'config.FB_APP_SECRET', 'config.FB_PAGE_ACCESS_TOKEN',
        'config.DATABASE_URL', 'config.IMAP_URL', 'config.SMTP_URL', 'config.MEILI_KEY',
      ],
      censor: '[redacted]',
    },
  });
}
