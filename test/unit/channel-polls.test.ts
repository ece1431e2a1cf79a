import { describe, expect, it } from 'vitest';
import { defineChannel, type AnyChannel, type ChannelContext } from '../../src/intake/channel-kit.ts';
import { createLogger } from '../../src/log.ts';
import { ChannelPolls } from '../../src/workers/channel-polls.ts';
import { waitFor } from '../support/wait.ts';

// A poll run that holds its connection (IMAP IDLE) until its signal aborts: stopping the process
// or losing leadership must end it at once, not after the run's own minutes.

function holdingChannel() {
  const seen = { runs: 0, aborted: 0 };
  const channel = defineChannel({
    name: 'holding', label: { vi: 'Giữ', en: 'Holding', background: '#fff', text: '#000' }, replies: 'tracking_page',
    poll: {
      everyMs: 20,
      run: (_ctx, signal) => new Promise<void>((resolve) => {
        seen.runs++;
        signal.addEventListener('abort', () => { seen.aborted++; resolve(); }, { once: true });
      }),
    },
  });
  return { seen, channel: channel as unknown as AnyChannel };
}

describe('channel polls', () => {
  it('aborts a run in flight when polling stops, and when this process stops being the leader', async () => {
    const { seen, channel } = holdingChannel();
    let leader = true;
    const polls = new ChannelPolls({
      channels: [{ adapter: channel, settings: {} }], contextOf: () => ({}) as ChannelContext<Record<string, unknown>>,
      isLeader: () => leader, log: createLogger('silent'),
    });
    polls.start();
    await waitFor('a run', async () => seen.runs === 1);
    // Found on the next tick, without anyone calling stepDown.
    leader = false;
    await waitFor('the run aborted on losing leadership', async () => seen.aborted === 1);
    leader = true;
    await waitFor('a second run', async () => seen.runs === 2);
    const t0 = Date.now();
    await polls.stop();
    expect(seen.aborted).toBe(2);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
