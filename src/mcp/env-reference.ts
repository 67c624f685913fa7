import { McpGatewayError } from './errors';

/** `${env:NAME}`: a reference to the gateway's environment variable NAME (a POSIX-style name). */
const REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]{0,199})\}/g;

/** The environment variables a template reads, in order. */
export function referencedVariables(template: string): string[] {
  return [...template.matchAll(REFERENCE)].map((m) => m[1]);
}

/**
 * `template` with each reference replaced by the variable's value in `processEnv`. Throws
 * MCP_UPSTREAM_UNAVAILABLE naming `what` (e.g. `header Authorization`) and the variable, never a
 * value (`details.problem`: `unset`), when one is unset or empty, or when `unfit(value)` says why
 * it cannot be used (`unusable`; the
 * consumer — fetch, spawn — would repeat the value in its own error).
 * @example resolveReferences('Bearer ${env:T}', { T: 'x' }, 'header Authorization', { header: 'Authorization' }) // 'Bearer x'
 */
export function resolveReferences(
  template: string,
  processEnv: NodeJS.ProcessEnv,
  what: string,
  details: Record<string, string>,
  unfit: (value: string) => string | undefined = () => undefined,
): string {
  return template.replace(REFERENCE, (_, variable: string) => {
    const value = processEnv[variable];
    if (!value) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${what}: environment variable ${variable} is not set on this gateway`, { details: { ...details, variable, problem: 'unset' } });
    const why = unfit(value);
    if (why) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${what}: environment variable ${variable} ${why}`, { details: { ...details, variable, problem: 'unusable' } });
    return value;
  });
}
