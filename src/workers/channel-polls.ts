import type { ChannelContext } from '../intake/channel-kit.ts';
import type { ActiveChannel } from '../intake/channels.ts';
import type { Logger } from '../log.ts';

export interface ChannelPollsOptions {
  channels: ActiveChannel[];
  contextOf: (c: ActiveChannel) => ChannelContext<Record<string, unknown>>;
  /** Polls run on the leader only (one mailbox reader per city). */
  isLeader: () => boolean;
  log: Logger;
}

/**
 * Runs the channels' `poll` (an IMAP mailbox, say) every `everyMs`, on the leader only, one
 * run at a time per channel; a failed run is logged and the next one comes on time.
 */
export class ChannelPolls {
  #timers: NodeJS.Timeout[] = [];
  #running = new Set<Promise<void>>();
  #stopped = false;

  constructor(private readonly opts: ChannelPollsOptions) {}

  start(): void {
    for (const c of this.opts.channels) {
      const poll = c.adapter.poll;
      if (!poll) continue;
      let busy = false;
      const tick = () => {
        if (this.#stopped || busy || !this.opts.isLeader()) return;
        busy = true;
        const run = poll.run(this.opts.contextOf(c))
          .catch((err: unknown) => this.opts.log.warn({ channel: c.adapter.name, err: (err as Error).message }, 'channel poll failed; trying again on time'))
          .finally(() => { busy = false; this.#running.delete(run); });
        this.#running.add(run);
      };
      const timer = setInterval(tick, poll.everyMs);
      timer.unref();
      this.#timers.push(timer);
      tick();
    }
  }

  /** Stops polling and waits for the runs in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.allSettled([...this.#running]);
  }
}
