import type { z } from 'zod';

/** Where a field sits in an event's data: property names, and `*` for each element of an array. */
export type FieldPath = readonly string[];

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  out?: z.ZodType;
};
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/**
 * The paths at which `schema` holds `target` (by identity), through objects, arrays, unions,
 * optional, nullable and default wrappers, refinements and pipes; other kinds (records, unknown)
 * are leaves, so whatever a caller may write there is never taken for one. Pure.
 * @example fieldPathsOf(TaskSubmittedV4.schema, SealedPayloadSchema) // [['instructionSealed'], ['steps', '*', 'argumentsSealed']]
 */
export function fieldPathsOf(schema: z.ZodType, target: z.ZodType, at: FieldPath = []): FieldPath[] {
  if (schema === target) return [at];
  const d = defOf(schema);
  switch (d.type) {
    case 'object':
      return Object.entries(d.shape ?? {}).flatMap(([k, s]) => fieldPathsOf(s, target, [...at, k]));
    case 'array':
      return fieldPathsOf(d.element!, target, [...at, '*']);
    case 'union': {
      const seen = new Map<string, FieldPath>();
      for (const p of d.options!.flatMap((o) => fieldPathsOf(o, target, at))) seen.set(p.join('\u0000'), p);
      return [...seen.values()];
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
      return fieldPathsOf(d.innerType!, target, at);
    case 'pipe':
      return fieldPathsOf(d.in!, target, at);
    default:
      return [];
  }
}

/**
 * The values at `path` in `data` (none where the data has nothing there). Pure.
 * @example valuesAt({ steps: [{ a: 1 }, {}] }, ['steps', '*', 'a']) // [1]
 */
export function valuesAt(data: unknown, path: FieldPath): unknown[] {
  let at: unknown[] = [data];
  for (const key of path) {
    const next: unknown[] = [];
    for (const v of at) {
      if (key === '*') {
        if (Array.isArray(v)) next.push(...v);
      } else if (v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, key)) next.push((v as Record<string, unknown>)[key]);
    }
    at = next;
  }
  return at.filter((v) => v !== undefined && v !== null);
}
