// JSX-like templates without a build step: htm tagged templates bound to preact's h(). Every view
// renders through `html`, so this is the one place text from data reaches the page: its string
// children, and the attributes a reader sees (a tooltip) or hears, are shown through visibleText.
import { h } from 'preact';
import htm from 'htm';
import { visibleText } from './visible-text.js';

/** Attributes whose text is shown or read out; values, links and data-* stay as they are. */
const SHOWN_ATTRIBUTES = ['title', 'aria-label', 'alt', 'placeholder'];

/** @param {unknown} child @returns {unknown} */
const shown = (child) => (typeof child === 'string' ? visibleText(child) : Array.isArray(child) ? child.map(shown) : child);

/**
 * preact's h() with text shown as visibleText: a component's children too (it renders them in
 * elements of its own, where they pass again, changing nothing).
 * @param {any} type @param {Record<string, unknown> | null} props @param {unknown[]} children
 */
function hShown(type, props, ...children) {
  if (typeof type === 'string' && props) {
    for (const k of SHOWN_ATTRIBUTES) if (typeof props[k] === 'string') props = { ...props, [k]: visibleText(/** @type {string} */ (props[k])) };
  }
  return h(type, props, ...children.map(shown));
}

export const html = htm.bind(hShown);
