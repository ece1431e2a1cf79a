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
 * run at a time per channel; a failed run is logged and the next one comes on time. A run's
 * signal aborts when polling stops or this process is no longer the leader (`step down`, or
 * found on the next tick), so that a run holding IDLE ends at once.
 */
export class ChannelPolls {
  #timers: NodeJS.Timeout[] = [];
  #running = new Set<Promise<void>>();
  #aborts = new Set<AbortController>();
  #stopped = false;

  constructor(private readonly opts: ChannelPollsOptions) {}

  start(): void {
    for (const c of this.opts.channels) {
      const poll = c.adapter.poll;
      if (!poll) continue;
      let busy = false;
      const tick = () => {
        if (!this.opts.isLeader()) this.stepDown();
        if (this.#stopped || busy || !this.opts.isLeader()) return;
        busy = true;
        const abort = new AbortController();
        this.#aborts.add(abort);
        const run = poll.run(this.opts.contextOf(c), abort.signal)
          .catch((err: unknown) => this.opts.log.warn({ channel: c.adapter.name, err: (err as Error).message }, 'channel poll failed; trying again on time'))
          .finally(() => { busy = false; this.#running.delete(run); this.#aborts.delete(abort); });
        this.#running.add(run);
      };
      const timer = setInterval(tick, poll.everyMs);
      timer.unref();
      this.#timers.push(timer);
      tick();
    }
  }

  /** This process is no longer the leader: the runs in flight are told to return. */
  stepDown(): void {
    for (const a of this.#aborts) a.abort();
  }

  /** Stops polling, tells the runs in flight to return, and waits for them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.stepDown();
    await Promise.allSettled([...this.#running]);
  }
}
