import { OpenMcpError, redactUrlsIn } from '../core/errors';
import type { ReadinessCheck } from '../telemetry/readiness-check';
import type { StartupRegistrations } from './register-at-start';

/** The /readyz line of the start-up registrations. */
export const REGISTRATIONS_CHECK_NAME = 'mcp servers (start-up registrations)';

/** An error as the line quotes it: its code when it has one, its message, no credentials in URLs; cut (/readyz is public). */
function errorText(err: unknown): string {
  const message = redactUrlsIn(String((err as Error)?.message ?? err));
  return (err instanceof OpenMcpError ? `${err.code}: ${message}` : message).slice(0, 200);
}

/**
 * The /readyz line of the MCP servers this process registers at start (registerAtStart), which
 * it does in the background while it already serves: `degraded` while any is still registering
 * (naming them: a call to one waits for its registration, and a server new to the catalog is not
 * listed before its first discovery), or once one has failed (naming it and its error: the process
 * serves on without it, and a restart tries again); `up` once all are registered. Degraded, not
 * down: /readyz stays 200, so that no replica leaves its load balancer over a server of its tools.
 * @example registrationsReadiness(registerAtStart(gateway, config, actor)).check() // { state: 'degraded', detail: 'registering 1 of 2: files; …' }
 */
export function registrationsReadiness(r: Pick<StartupRegistrations, 'count' | 'inFlight' | 'failed'>): ReadinessCheck {
  return {
    name: REGISTRATIONS_CHECK_NAME,
    async check() {
      const running = r.inFlight();
      const failed = r.failed();
      const parts = [
        ...(running.length ? [`registering ${running.length} of ${r.count}: ${running.join(', ')} (calls to them wait for it)`] : []),
        ...failed.map((f) => `${f.server} failed: ${errorText(f.err)} (restart to try again)`),
      ];
      if (parts.length) return { state: 'degraded', detail: parts.join('; ') };
      return { state: 'up', detail: `${r.count} registered` };
    },
  };
}
