import canonicalize from 'canonicalize';
import { ValidationError } from './errors';

/**
 * RFC 8785 (JCS) canonical JSON. Numbers must be safe integers: a float's text form differs
 * between languages and a bigint has no JSON form, so both are refused with the path named.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  // An array hole (`a[2] = x` on a shorter array, `delete a[i]`) is null in JSON.stringify, which
  // is what every store keeps, but canonicalize skips it: [1, , 3] hashed as [1,3] (and a leading
  // hole as the invalid `[,3]`), so the stored event never verified. Rare: only then is a copy made.
  const holes = assertCanonicalSafe(value, '$');
  const text = canonicalize(holes ? JSON.parse(JSON.stringify(value)) : value);
  if (text === undefined) throw new ValidationError('value has no JSON form', { path: '$' });
  return text;
}

/** Throws on a value that has no canonical form; returns true when an array in it has a hole. */
function assertCanonicalSafe(value: unknown, path: string): boolean {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new ValidationError(`${path}: numbers must be safe integers (use a string for ${value})`, { path });
      }
      return false;
    case 'bigint':
      throw new ValidationError(`${path}: bigint has no canonical JSON form (use a string)`, { path });
    case 'function':
    case 'symbol':
      throw new ValidationError(`${path}: ${typeof value} cannot be hashed`, { path });
    case 'object': {
      if (value === null) return false;
      let holes = false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) holes = true;
          else if (assertCanonicalSafe(value[i], `${path}[${i}]`)) holes = true;
        }
        return holes;
      }
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && assertCanonicalSafe(v, `${path}.${k}`)) holes = true;
      }
      return holes;
    }
    default:
      return false;
  }
}
