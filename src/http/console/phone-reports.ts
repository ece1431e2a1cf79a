import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { CategoryInfo } from '../../core/engine/catalog.ts';
import { AppError, isAppError } from '../../core/errors.ts';
import type { InboundReport } from '../../core/report-input.ts';
import { assertCan } from '../../core/staff/authorize.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { validateReportFields, type RawReportFields } from '../../intake/report-validation.ts';
import { readJsonObject } from '../../intake/request-body.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { presentCaller, presentLogged } from './presenters.ts';
import { citizenSummary } from '../../core/citizens/card.ts';
import { phoneQuery } from '../../core/citizens/identity.ts';
import { LoggedCall, parseFields } from './validators.ts';

/** The channel of what callers say to the hotline, typed by an agent or recorded by the voice line. */
const PHONE_CHANNEL = 'phone';

/** The fields of the agents' phone form, as validateReportFields names them in its errors. */
const FORM_FIELDS = ['text', 'address', 'category', 'phone', 'name'] as const;
type FormField = (typeof FORM_FIELDS)[number];

/** One refused field of the form: its name, stable code and what the agent reads. */
export interface FieldProblem {
  field: FormField;
  code: string;
  message: string;
}

const rawFields = (f: Partial<Record<FormField, unknown>>): RawReportFields =>
  ({ text: f.text, address: f.address, category: f.category, citizen: { phone: f.phone, name: f.name } });

/**
 * The channels' shared validation (validateReportFields); when it refuses, every field is checked
 * on its own so that the form can mark each one at once. The error is the first field's, with
 * `details.fields` listing them all.
 */
async function validateForm(fields: Record<FormField, unknown>, ctx: { categories: () => Promise<CategoryInfo[]> }) {
  try {
    return await validateReportFields(rawFields(fields), ctx);
  } catch (err) {
    if (!isAppError(err)) throw err;
    const fieldsProblems: FieldProblem[] = [];
    for (const field of FORM_FIELDS) {
      // Each field alone, beside a text that passes (the text itself is checked as it is).
      const alone = rawFields({ text: field === 'text' ? fields.text : '.', [field]: fields[field] });
      try {
        await validateReportFields(alone, ctx);
      } catch (e) {
        if (!isAppError(e)) throw e;
        fieldsProblems.push({ field, code: e.code, message: e.messageVi });
      }
    }
    throw new AppError(err.code, err.status, err.message, err.messageVi, { ...err.details, fields: fieldsProblems });
  }
}

/** The Idempotency-Key of a request (1 to 200 characters), if it has one. */
function idempotencyKey(header: string | undefined): string | undefined {
  const key = header?.trim();
  if (key !== undefined && (key.length === 0 || key.length > 200)) {
    throw new AppError('idempotency_key_invalid', 400, 'Idempotency-Key must be 1 to 200 characters', 'Mã chống gửi trùng không hợp lệ.');
  }
  return key;
}

/**
 * POST /api/console/reports: what a caller says on the hotline, typed by an agent. It goes
 * through the same intake as every channel's report (stored raw, idempotent, then filed by the
 * worker): on the phone channel, keyed by the call when the agent logs it for one (a second
 * submit for the same call is a replay), else by the Idempotency-Key or a fresh id.
 */
export function phoneReportRoutes(kit: ConsoleKit): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { intake, categories } = kit.deps;
  const agents = requireUser(...rolesThatCan('report.log'));

  app.post('/api/console/reports', agents, async (c) => {
    const actor = kit.actor(c);
    assertCan(actor, 'report.log');
    const key = idempotencyKey(c.req.header('idempotency-key'));
    const body = await readJsonObject(c);
    const { call } = parseFields(LoggedCall, { call: body.call });
    const v = await validateForm({ text: body.text, address: body.address, category: body.category, phone: body.phone, name: body.name }, { categories });
    const report: InboundReport = { ...v, attachments: [] };
    // What arrived, as validated, with who typed it (JSON leaves the absent fields out).
    const payload = {
      text: v.text, address: v.address, category: v.category, phone: v.citizen.phone, name: v.citizen.name,
      ...(call ? { call } : {}), agent: actor.username,
    };
    let accepted;
    try {
      accepted = await intake.accept({ channel: PHONE_CHANNEL, externalId: call ? `agent:${call}` : key ?? randomUUID(), payload, report });
    } catch (err) {
      if (call && isAppError(err) && err.code === 'idempotency_key_conflict') {
        throw new AppError('call_already_logged', 409, 'another report was already logged for this call',
          'Cuộc gọi này đã được ghi nhận với nội dung khác. Bỏ liên kết cuộc gọi để ghi nhận thêm một phản ánh.', { field: 'call' });
      }
      throw err;
    }
    if (accepted.replay) c.header('Idempotent-Replayed', 'true');
    return c.json(presentLogged(accepted, call ?? null), 201);
  });

  /**
   * GET /api/console/callers?phone=: who a caller is, by the number they give (however
   * written), with their tickets not yet closed: what the phone form shows as it is typed.
   * Staff who may see people only; a number too short or not a number is answered `null`.
   */
  app.get('/api/console/callers', agents, async (c) => {
    const actor = kit.actor(c);
    assertCan(actor, 'citizens.see');
    const raw = c.req.query('phone') ?? '';
    const phone = raw.length <= 40 ? phoneQuery(raw) : null;
    return c.json(presentCaller(phone, phone ? await citizenSummary(kit.deps.db, { phone }) : null));
  });
  return app;
}
