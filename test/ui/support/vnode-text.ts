// What a preact vnode tree (ui/app's `html`) puts in the DOM, read without a browser: components
// are called with their props, so a view's pure parts are tested as unit tests.

export type VNode = { type: unknown; props: Record<string, any> };

/** The tree with every component replaced by what it renders (its host elements and text). */
export function rendered(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(rendered);
  const n = v as VNode;
  if (typeof n.type === 'function') return rendered((n.type as (p: unknown) => unknown)(n.props));
  return { type: n.type, props: { ...n.props, children: rendered(n.props.children) } };
}

/** The text of a vnode tree as preact would put it in the DOM (components called). */
export function textOf(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'boolean') return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(textOf).join('');
  const n = v as VNode;
  if (typeof n.type === 'function') return textOf((n.type as (p: unknown) => unknown)(n.props));
  return textOf(n.props.children);
}

/** The host elements of a tree (components called), depth first, that `match`. */
export function elementsOf(v: unknown, match: (e: VNode) => boolean): VNode[] {
  const out: VNode[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x === null || typeof x !== 'object') return;
    const e = x as VNode;
    if (match(e)) out.push(e);
    walk(e.props.children);
  };
  walk(rendered(v));
  return out;
}
