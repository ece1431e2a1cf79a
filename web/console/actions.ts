import { ApiError, errorMessage } from '../lib/api.ts';
import { notify } from '../lib/notice.ts';
import { CHANGED } from './state.ts';

/**
 * Runs an action with its button busy and notifies the result; then the queue and the open
 * ticket are refetched (CHANGED), also when the server says the ticket changed meanwhile (409).
 */
export async function act(button: HTMLButtonElement | null, work: () => Promise<unknown>, done: string): Promise<boolean> {
  if (button?.disabled) return false;
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    await work();
    notify(done, 'ok');
    document.dispatchEvent(new Event(CHANGED));
    return true;
  } catch (err) {
    notify(errorMessage(err), 'error');
    if (err instanceof ApiError && err.status === 409) document.dispatchEvent(new Event(CHANGED));
    return false;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}
