import { ValidationError } from '../core/errors';
import type { ReadAllOptions } from './port';

/**
 * The exclusive start a readAll's options ask for: `after`, or `from` - 1 (positions are
 * integers), undefined for the start of the log. `from` and `after` together are refused.
 * @example exclusiveStart({ from: 10 }) // 9
 */
export function exclusiveStart(options: ReadAllOptions): number | undefined {
  if (options.from === undefined) return options.after;
  if (options.after !== undefined) throw new ValidationError('readAll: from and after together (give one)', { field: 'from' });
  if (!Number.isSafeInteger(options.from) || options.from < 0) throw new ValidationError('readAll: from must be a position (integer >= 0)', { field: 'from' });
  return options.from - 1;
}
