import { fileTypeFromBuffer } from 'file-type';
import { imageProblem } from '../intake/image-size.ts';
import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import { isAppError } from '../core/errors.ts';
import type { DomainEvent } from '../core/events.ts';
import { appendEvents } from '../core/tickets/event-log.ts';
import { jsonParam } from '../db/records.ts';
import type { Logger } from '../log.ts';
import { REPORT_LIMITS } from '../core/report-input.ts';
import { safeFetch } from '../intake/safe-fetch.ts';
import { noteChannelEvent } from '../intake/channel-services.ts';
import type { ChannelSender } from './outbound.ts';

/** Media a report may keep: photos, and the recordings of calls. */
const MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/heic', 'image/heif', 'image/avif', 'audio/mpeg', 'audio/wav', 'audio/x-wav', 'audio/ogg', 'audio/mp4']);
/** A recording of a few minutes is larger than a photo. */
const MEDIA_MAX_BYTES = 20 * 1024 * 1024;

export interface MediaJob {
  reportId: number;
  channel: string;
  url: string;
  contentType: string | null;
}

/**
 * Fetches one photo or recording a provider holds for a report (only from the hosts its channel
 * names: `safeFetch`), keeps it if its own bytes say it is an image or audio, and adds it to the
 * report. A refusal (a host not allowed, a private address, too large, not an image) is final:
 * kept as a channel event, the job done; a network failure throws for a retry.
 */
export async function fetchReportMedia(db: Db, channelOf: ChannelSender, job: MediaJob, log: Logger): Promise<DomainEvent[]> {
  const channel = channelOf(job.channel);
  const refuse = async (why: string) => {
    log.warn({ channel: job.channel, report: job.reportId, why }, 'media not fetched');
    await noteChannelEvent(db, job.channel, `report:${job.reportId}`, 'media_refused', { url: job.url.slice(0, 300), why });
    return [];
  };
  if (!channel?.adapter.media) return refuse(`channel ${job.channel} fetches no media`);
  const policy = channel.adapter.media(channel.ctx.settings);
  let got: { bytes: Uint8Array };
  try {
    got = await safeFetch(job.url, policy, { maxBytes: Math.max(MEDIA_MAX_BYTES, channel.ctx.config.UPLOAD_MAX_BYTES) });
  } catch (err) {
    if (isAppError(err) && err.code === 'media_refused') return refuse(err.message);
    throw err;
  }
  const type = await fileTypeFromBuffer(got.bytes);
  if (!type || !MEDIA_TYPES.has(type.mime)) return refuse(`not an image or a recording (${type?.mime ?? 'unknown type'})`);
  if (type.mime.startsWith('image/') && got.bytes.byteLength > channel.ctx.config.UPLOAD_MAX_BYTES) return refuse('photo larger than UPLOAD_MAX_BYTES');
  // An image only if its header reads: dimensions present and sensible.
  const bad = type.mime.startsWith('image/') ? imageProblem(got.bytes, type.mime) : null;
  if (bad) return refuse(`${bad.code}${bad.size ? ` (${bad.size.width}x${bad.size.height})` : ''}`);
  const file = await channel.ctx.files.put(got.bytes, type.mime, type.ext);
  return db.transaction().execute(async (tx) => {
    const r = await tx.selectFrom('reports').select(['id', 'code', 'ticket_id', 'attachments']).where('id', '=', job.reportId).forUpdate().executeTakeFirst();
    if (!r || (r.attachments ?? []).some((a) => a.sha256 === file.sha256)) return [];
    if ((r.attachments ?? []).length >= REPORT_LIMITS.attachmentsMax) {
      await refuse(`the report already has ${REPORT_LIMITS.attachmentsMax} files`);
      return [];
    }
    await sql`update reports set attachments = reports.attachments || cast(${jsonParam([file])} as jsonb) where id = ${r.id}`.execute(tx);
    return appendEvents(tx, [{ ticketId: r.ticket_id, type: 'report.media_added', actor: 'system', data: { report: r.code, content_type: file.content_type } }]);
  });
}
