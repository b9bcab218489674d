/** What `h` accepts as children: nodes, text, and nothing (skipped). */
export type Child = Node | string | number | null | undefined | false;

/**
 * An element with attributes and children, built without HTML strings: API data only ever becomes text nodes.
 * `attrs` values of `false`, null or undefined leave the attribute out; `true` sets it empty.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | number | boolean | null | undefined>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/**
 * Replaces the children of `container`, keeping the keyboard focus: an element with `data-focus` inside it that had
 * the focus gives it to the new element with the same `data-focus`.
 */
export function replace(container: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focus : undefined;
  container.replaceChildren();
  append(container, children);
  if (key !== undefined) container.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

/** `2026-12-03T13:50:02.000Z` as `13:50:02` today, else `2026-12-03 13:50` (UTC), in a <time> element. */
export function time(iso: string | null | undefined, now = Date.now()): HTMLElement | string {
  if (!iso) return '—';
  const d = new Date(iso);
  const sameDay = Math.abs(now - d.getTime()) < 20 * 3600_000;
  const text = sameDay ? iso.slice(11, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
  return h('time', { datetime: iso, title: iso }, `${text} UTC`);
}

/** How long ago, in words: `12 s ago`, `4 min ago`, `3 h ago`, `2 d ago`. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129_600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}
