/**
 * Runs `f` after the current turn of the event loop, once what is waiting (I/O, HTTP requests)
 * has been served: setImmediate on Node, a zero timeout where there is none (Workers).
 */
export function nextTurn(f: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(f);
  else setTimeout(f, 0);
}

/** Resolves after the current turn of the event loop (see `nextTurn`). */
export const yieldTurn = (): Promise<void> => new Promise((resolve) => nextTurn(resolve));
