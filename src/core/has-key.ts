/**
 * Whether a parsed settings document names `key`: false for an empty one (YAML of nothing or only
 * comments parses to null) and an object without it; true for anything else that is not an
 * object, whose schema then says what is wrong.
 * @example hasKey(parseYaml('# to do'), 'chains') === false
 */
export function hasKey(doc: unknown, key: string): boolean {
  return doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc) || key in doc);
}
