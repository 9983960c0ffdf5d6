/** Where keyboard focus is, for handlers that must not steal keys from what the user is doing. */

/** True while the user types into a field (its keys, Ctrl+Z included, are the field's). */
export function isTyping(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable ||
      target.tagName === 'TEXTAREA' ||
      target.tagName === 'SELECT' ||
      (target.tagName === 'INPUT' &&
        !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(
          (target as HTMLInputElement).type,
        )))
  );
}

/** True on a control that moves focus on with Tab (buttons, links, fields); false on the page or a canvas. */
export function isControl(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (isTyping(target)) return true;
  return target.matches('button, a[href], input, select, textarea, summary, [role="button"], [role="tab"]');
}

/** Ctrl on Linux and Windows, Cmd on macOS. */
export function primaryModifier(event: KeyboardEvent | MouseEvent): boolean {
  return event.ctrlKey || event.metaKey;
}
