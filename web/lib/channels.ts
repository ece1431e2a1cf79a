import { h } from './dom.ts';
import type { ChannelInfo } from '../../src/wire/staff-api.ts';

// Channels as the server's registry names them (GET /api/console/meta): the views keep no list
// of their own, so a new channel shows with its label and colours without touching web/.

let known = new Map<string, ChannelInfo>();

/** Takes the registry's channels (once, at start). */
export function setChannels(list: ChannelInfo[]): void {
  known = new Map(list.map((c) => [c.name, c]));
}

/** Every channel, for filters. */
export const allChannels = (): ChannelInfo[] => [...known.values()];

/** A channel's Vietnamese name, or its code when the server did not name it. */
export const channelLabel = (name: string): string => known.get(name)?.label.vi ?? name;

/** A channel's badge in its own colours (set through CSS variables: no inline style, see the CSP). */
export function channelBadge(name: string): HTMLElement {
  const el = h('span', { class: 'chan', 'data-channel': name }, channelLabel(name));
  const c = known.get(name);
  if (c) {
    el.style.setProperty('--chan-bg', c.label.background);
    el.style.setProperty('--chan-fg', c.label.text);
  }
  return el;
}
