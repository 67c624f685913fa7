import canonicalize from 'canonicalize';
import { ValidationError } from './errors';

/**
 * RFC 8785 (JCS) canonical JSON. Numbers must be safe integers: a float's text form differs
 * between languages and a bigint has no JSON form, so both are refused with the path named.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  assertCanonicalSafe(value, '$');
  const text = canonicalize(value);
  if (text === undefined) throw new ValidationError('value has no JSON form', { path: '$' });
  return text;
}

function assertCanonicalSafe(value: unknown, path: string): void {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new ValidationError(`${path}: numbers must be safe integers (use a string for ${value})`, { path });
      }
      return;
    case 'bigint':
      throw new ValidationError(`${path}: bigint has no canonical JSON form (use a string)`, { path });
    case 'function':
    case 'symbol':
      throw new ValidationError(`${path}: ${typeof value} cannot be hashed`, { path });
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => assertCanonicalSafe(v, `${path}[${i}]`));
        return;
      }
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined) assertCanonicalSafe(v, `${path}.${k}`);
      }
      return;
    default:
      return;
  }
}
