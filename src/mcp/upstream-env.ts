import { ENV_NAME, ENV_TEMPLATE } from '../../events/mcp.events';
import { referencedVariables, resolveReferences } from './env-reference';

/**
 * The environment given to a stdio upstream's process. A value is either a template that refers
 * to the gateway's environment (`${env:GITHUB_TOKEN}`, `postgres://app:${env:PG_PASSWORD}@db/app`),
 * recorded as such in the log (McpServerRegistered v3 `env`) so that every replica and every
 * restart starts the process with it, or a literal, whose value is never recorded (it may be a
 * secret and the log is forever) and so lives only in the memory of the process that registered
 * the server. REST and the CLI refuse literals (a restart would silently lose them);
 * MCP_SERVERS_FILE and in-process registrations keep them, as they are given again at each start.
 */

/** Whether `value` is meant as a template (any `${`), not a literal. */
export function isEnvTemplate(value: string): boolean {
  return value.includes('${');
}

export type EnvLiterals = 'keep' | 'refuse';

/**
 * What is wrong with a registration's `env` for a server of `transport`: each problem with the
 * path of the field (`['env', 'GITHUB_TOKEN']`), none when it is fine. `literals: 'refuse'` (REST)
 * also refuses values that are not templates.
 */
export function envProblems(env: Record<string, string>, transport: string, literals: EnvLiterals): { path: string[]; message: string }[] {
  const entries = Object.entries(env);
  if (transport !== 'stdio' && (literals === 'refuse' || entries.some(([, v]) => isEnvTemplate(v)))) {
    return [{ path: ['env'], message: 'env is for stdio servers (an http or sse server takes headers)' }];
  }
  // The log takes at most 100 names (envKeys): refused here, naming the field, rather than when recording.
  if (entries.length > 100) return [{ path: ['env'], message: 'at most 100 variables' }];
  const out: { path: string[]; message: string }[] = [];
  for (const [name, value] of entries) {
    if (isEnvTemplate(value)) {
      if (!ENV_NAME.test(name)) out.push({ path: ['env', name], message: 'a variable given by reference needs a name of letters, digits and _ (not starting with a digit, at most 200)' });
      else if (value.length > 8000) out.push({ path: ['env', name], message: 'at most 8000 characters' });
      else if (!ENV_TEMPLATE.test(value)) out.push({ path: ['env', name], message: 'not a valid reference: write ${env:NAME} (the gateway\'s variable NAME), no other "${", no control characters' });
    } else if (literals === 'refuse') {
      out.push({
        path: ['env', name],
        message: `give the value by reference to an environment variable of the gateway, e.g. "\${env:${ENV_NAME.test(name) ? name : 'NAME'}}" (a value given as such is never written to the immutable event log, so only this process would have it: a restart or another replica would start the server without it)`,
      });
    }
  }
  return out;
}

/**
 * What the log records of `env`: every name (`envKeys`, sorted, as v1 and v2 did) and the
 * templates (`templates`, undefined when none) — never a literal's value.
 */
export function envRecord(env: Record<string, string>): { envKeys: string[]; templates?: Record<string, string> } {
  const templates = Object.fromEntries(Object.entries(env).filter(([, v]) => isEnvTemplate(v)));
  return { envKeys: Object.keys(env).sort(), ...(Object.keys(templates).length ? { templates } : {}) };
}

/** Variables the templates of `env` refer to that are not set (or empty) in `processEnv`, each with the entry that needs it. */
export function missingEnvVariables(env: Record<string, string>, processEnv: NodeJS.ProcessEnv = process.env): { name: string; variable: string }[] {
  return Object.entries(env)
    .filter(([, v]) => isEnvTemplate(v))
    .flatMap(([name, t]) => referencedVariables(t).filter((v) => !processEnv[v]).map((variable) => ({ name, variable })));
}

/**
 * The environment to start the process with: literals as given, each template with its references
 * replaced by this process's variables. Throws MCP_UPSTREAM_UNAVAILABLE naming the entry and the
 * variable (never a value) when one is unset, or holds a NUL (spawn would repeat the value in its error).
 */
export function resolveEnv(env: Record<string, string>, processEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!isEnvTemplate(value)) {
      out[name] = value;
      continue;
    }
    out[name] = resolveReferences(value, processEnv, `env ${name}`, { env: name }, (v) =>
      v.includes('\0') ? 'holds a NUL character, which a process environment cannot carry' : undefined,
    );
  }
  return out;
}
