// JSX-like templates without a build step: htm tagged templates bound to preact's h().
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
