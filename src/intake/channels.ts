import { ConfigError } from '../config.ts';
import type { AnyChannel } from './channel-kit.ts';

/** A channel that is on, with its parsed settings. */
export interface ActiveChannel {
  adapter: AnyChannel;
  settings: Record<string, unknown>;
}

/** Where a channel's routes are mounted. */
export const basePathOf = (c: AnyChannel): string => c.basePath ?? `/channels/${c.name}`;

/**
 * The channels of the registry that are on, with their settings read from `env`: a channel
 * without settings is on; one whose keys are all absent is off; one with some keys set must
 * parse, or the start stops with a ConfigError naming the channel and the key. Two channels
 * of one name are a mistake of the registry.
 */
export function resolveChannels(registry: readonly AnyChannel[], env: Record<string, string | undefined>): ActiveChannel[] {
  const names = new Set<string>();
  const active: ActiveChannel[] = [];
  const problems: string[] = [];
  for (const adapter of registry) {
    if (names.has(adapter.name)) throw new ConfigError([`channel ${adapter.name}: registered twice`]);
    names.add(adapter.name);
    if (!adapter.settings) {
      active.push({ adapter, settings: {} });
      continue;
    }
    const keys = Object.keys(adapter.settings.shape);
    const given = Object.fromEntries(keys.map((k) => [k, env[k]?.trim() ? env[k] : undefined]));
    if (keys.every((k) => given[k] === undefined)) continue; // off: nothing set
    const parsed = adapter.settings.safeParse(given);
    if (parsed.success) active.push({ adapter, settings: parsed.data });
    else for (const i of parsed.error.issues) problems.push(`channel ${adapter.name}: ${i.path.join('.') || '(settings)'}: ${i.message}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return active;
}
