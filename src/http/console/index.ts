import { Hono } from 'hono';
import { AppError } from '../../core/errors.ts';
import { REPORT_LIMITS } from '../../core/report-input.ts';
import { bodyLimit } from '../../intake/body-limit.ts';
import type { AuthEnv } from '../auth.ts';
import { consoleKit, type ConsoleApiDeps } from './context.ts';
import { phoneReportRoutes } from './phone-reports.ts';
import { placeRoutes } from './places.ts';
import { quarantineRoutes } from './quarantine.ts';
import { regroupRoutes } from './regroup.ts';
import { ticketRoutes } from './tickets.ts';
import { wardRoutes } from './ward.ts';

export type { ConsoleApiDeps, MessageReader } from './context.ts';

/** Body limits: JSON commands are small; the ward's resolution carries photos. */
const JSON_MAX_BYTES = 64 * 1024;

/**
 * The agents' console and the ward forces' API (see the console contract in the README), one
 * module per resource. Every change goes through a core service that checks the policy and
 * writes the audit log; the events it returns are published after commit, for realtime and
 * notifications. Bodies are parsed by zod schemas (validators.ts) and answers shaped by
 * presenters (presenters.ts) into the wire types the browser shares (src/wire/staff-api.ts).
 */
export function consoleApi(deps: ConsoleApiDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const tooLarge = () => { throw new AppError('payload_too_large', 413, 'request body is too large', 'Dữ liệu gửi lên quá lớn.'); };
  const jsonLimit = bodyLimit({ maxSize: JSON_MAX_BYTES, onError: tooLarge });
  const photosLimit = bodyLimit({ maxSize: deps.uploadMaxBytes * REPORT_LIMITS.photosMax + 1024 * 1024, onError: tooLarge });
  for (const prefix of ['/api/console/*', '/api/ward/*']) {
    app.use(prefix, (c, next) => {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
      const photos = c.req.path.endsWith('/resolve') && (c.req.header('content-type') ?? '').startsWith('multipart/');
      return (photos ? photosLimit : jsonLimit)(c, next);
    });
  }
  const kit = consoleKit(deps);
  for (const routes of [ticketRoutes, regroupRoutes, placeRoutes, phoneReportRoutes, wardRoutes, quarantineRoutes]) app.route('/', routes(kit));
  return app;
}
