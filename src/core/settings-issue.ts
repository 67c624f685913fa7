import type { z } from 'zod';

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v = doc;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * A settings file's first zod issue as `path: message`, for the ConfigError of POLICY_FILE,
 * MCP_SERVERS_FILE and CHAINS_FILE. Where text is expected and the file gives a number or a boolean,
 * the message says so and to quote it: YAML reads an unquoted `tenant: 007` as the number 7 and
 * `1e3` as 1000, so zod's bare "expected string, received number" pointed at nothing the operator wrote.
 * @example settingsIssueText(issue, { tenant: 7 }, '(root)') // 'tenant: … the number 7 … quote it as written (tenant: "…": "007" for 007, not 7)'
 */
export function settingsIssueText(issue: z.core.$ZodIssue, doc: unknown, root = '(root)'): string {
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
      return `${where}: expected text, but the file gives the ${kind} ${String(value)} (YAML reads an unquoted 007 or 1e3 as a number and true/false as a boolean): quote it as written (${key}: "…": "007" for 007, not 7)`;
    }
  }
  return `${where}: ${issue.message}`;
}
