import type { DbOrTx } from '../../db/schema.ts';

/**
 * Who asked a channel to stop writing to them ("STOP", "HUY"): kept per channel and address
 * (an E.164 number, a page-scoped id), honoured before every send, lifted by "START".
 */
export async function isOptedOut(db: DbOrTx, channel: string, address: string): Promise<boolean> {
  const r = await db.selectFrom('channel_opt_outs').select('opted_out')
    .where('channel', '=', channel).where('address', '=', address).executeTakeFirst();
  return r?.opted_out ?? false;
}

/** Records an opt-out (`out` true) or its end; returns whether this changed anything. */
export async function setOptOut(db: DbOrTx, channel: string, address: string, out: boolean, keyword: string): Promise<boolean> {
  const before = await isOptedOut(db, channel, address);
  await db.insertInto('channel_opt_outs').values({ channel, address, opted_out: out, keyword: keyword.slice(0, 40), updated_at: new Date() })
    .onConflict((oc) => oc.columns(['channel', 'address']).doUpdateSet({ opted_out: out, keyword: keyword.slice(0, 40), updated_at: new Date() }))
    .execute();
  return before !== out;
}
