// Single-key shortcuts that never fire while the user is typing.

/** True when the key went to a text field, a select or an editable element. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'submit', 'reset', 'checkbox', 'radio', 'file', 'image', 'range', 'color'].includes(target.type);
  }
  return false;
}

/**
 * Calls `handlers[key]` for plain key presses outside text fields (no Ctrl/Alt/Meta) while no
 * modal dialog is open; Escape in a text field leaves it, so the shortcuts work again.
 */
export function bindShortcuts(handlers: Record<string, (e: KeyboardEvent) => void>): void {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (isTyping(e.target)) {
      if (e.key === 'Escape' && e.target instanceof HTMLElement) e.target.blur();
      return;
    }
    if (document.querySelector('dialog[open]')) return;
    const fn = handlers[e.key];
    if (fn) fn(e);
  });
}
