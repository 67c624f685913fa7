import type { z } from 'zod';
import { settingsPosition } from './settings-position';

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v = doc;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Keys whose values are secrets (CHAINS_FILE's inline `privateKey`): a refusal names them, never their value. */
const SECRET_KEY = /key$|secret|password|token/i;

/**
 * Where a file holds secrets under any key (MCP_SERVERS_FILE's `env` and `headers`: `PIN`, `DSN`),
 * true for a path whose value a refusal must not show, whatever its key is named.
 */
export type SecretPath = (path: readonly PropertyKey[]) => boolean;

/**
 * A settings file's first zod issue as `path: message`, for the ConfigError of POLICY_FILE,
 * MCP_SERVERS_FILE and CHAINS_FILE. Where text is expected and the file gives a number or a boolean,
 * the message says so and to quote it: YAML reads an unquoted `tenant: 007` as the number 7 and
 * `1e3` as 1000, so zod's bare "expected string, received number" pointed at nothing the operator wrote.
 * @example settingsIssueText(issue, { tenant: 7 }, '(root)') // 'tenant: … the number 7 … quote it as written (tenant: "…": "007" for 007, not 7)'
 */
export function settingsIssueText(issue: z.core.$ZodIssue, doc: unknown, root = '(root)', secretPath?: SecretPath): string {
  // A union (MCP_SERVERS_FILE's `servers` or `mcpServers` form) says only "Invalid input": report
  // the issue of the form that got furthest into the document (its paths are the union's own).
  while (issue.code === 'invalid_union' && issue.errors.length) {
    const firsts = issue.errors.map((e) => e[0]).filter((e) => e !== undefined);
    if (!firsts.length) break;
    const furthest = firsts.reduce((a, b) => (b.path.length > a.path.length ? b : a));
    issue = { ...furthest, path: [...issue.path, ...furthest.path] } as z.core.$ZodIssue;
  }
  const where = issue.path.map(String).join('.') || root;
  if (issue.code === 'invalid_type' && issue.expected === 'string') {
    const value = valueAt(doc, issue.path);
    if (typeof value === 'number' || typeof value === 'boolean') {
      const kind = typeof value === 'number' ? 'number' : 'boolean';
      const key = issue.path.length && typeof issue.path[issue.path.length - 1] === 'string' ? String(issue.path[issue.path.length - 1]) : 'name';
      // A secret is not echoed, not even as the rounded number YAML made of an unquoted 0x… key (its leading digits).
      const shown = SECRET_KEY.test(key) || secretPath?.(issue.path) ? '' : ` ${String(value)}`;
      return `${where}: expected text, but the file gives the ${kind}${shown} (YAML reads an unquoted 007 or 1e3 as a number and true/false as a boolean): quote it as written (${key}: "…": "007" for 007, not 7)`;
    }
  }
  return `${where}: ${issue.message}`;
}

/** Most problems one refusal lists: past them, it says how many more there are. */
const MOST_ISSUES = 5;

/** One problem of a settings file: its text (`path: what is wrong`), and where it is (`key`: an unrecognized key inside `path`). */
export type SettingsProblem = { text: string; path: readonly PropertyKey[]; key?: string };

/** Where zod's issue is written: its path, and for an unrecognized key that key (settingsPosition). */
export function settingsIssuePlace(issue: z.core.$ZodIssue): Pick<SettingsProblem, 'path' | 'key'> {
  const key = issue.code === 'unrecognized_keys' && issue.keys.length ? issue.keys[0] : undefined;
  return { path: issue.path, ...(key !== undefined ? { key } : {}) };
}

/**
 * Problems of a settings file in one refusal, each followed, when the file's text is at hand, by
 * where it is written (`(line 5, column 7)`, settingsPosition): a file refused for its first typo
 * alone needed a restart per typo to find the next. The first problem comes first; the others
 * follow `; also: `, at most MOST_ISSUES in all, then `; and N more`.
 * @example settingsProblemsText([{ text: 'a.b: wrong', path: ['a', 'b'] }], 'a:\n  b: 1\n') // 'a.b: wrong (line 2, column 6)'
 */
export function settingsProblemsText(problems: readonly SettingsProblem[], fileText?: string): string {
  const at = (p: SettingsProblem): string => {
    if (fileText === undefined) return '';
    const pos = settingsPosition(fileText, p.path, p.key);
    return pos ? ` (line ${pos.line}, column ${pos.column})` : '';
  };
  const shown = problems.slice(0, MOST_ISSUES).map((p) => `${p.text}${at(p)}`);
  const more = problems.length - shown.length;
  return shown.join('; also: ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * Every problem zod found in a settings file, each as settingsIssueText gives it and where it is
 * written (settingsProblemsText).
 * @example settingsIssuesText(error.issues, doc, text) // 'policies.0.tools: Unrecognized key: "denny" (line 5, column 7)'
 */
export function settingsIssuesText(issues: readonly z.core.$ZodIssue[], doc: unknown, fileText?: string, root = '(root)'): string {
  return settingsProblemsText(
    issues.map((i) => ({ text: settingsIssueText(i, doc, root), ...settingsIssuePlace(i) })),
    fileText,
  );
}
