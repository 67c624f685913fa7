import { redactUrl } from '../../core/errors';
import { softReadinessCheck, type ReadinessCheck } from '../../telemetry/readiness-check';

/** Below the soft check's own limit, so a hung endpoint is named as such. */
const PROBE_TIMEOUT_MS = 1500;

/** Why a fetch got no answer: the socket's code (ECONNREFUSED, ENOTFOUND), else its message. */
function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer in ${PROBE_TIMEOUT_MS} ms`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/**
 * The `llm` line of /readyz. With OPENAI_BASE_URL it asks `GET <base>/models` (no key: any HTTP
 * answer, a 401 or 404 included, shows the endpoint is there) and is degraded, /readyz still 200,
 * while nothing answers: the agent's natural-language tasks fail LLM_UNAVAILABLE meanwhile.
 * Without it, degraded: only tasks with explicit steps run.
 * @example llmReadinessCheck(config.OPENAI_BASE_URL)
 */
export function llmReadinessCheck(baseUrl: string | undefined, fetchImpl: typeof fetch = fetch): ReadinessCheck {
  if (!baseUrl) return { name: 'llm', check: async () => ({ state: 'degraded', detail: 'OPENAI_BASE_URL is not set: only tasks with explicit steps run' }) };
  const shown = redactUrl(baseUrl);
  const probe = new URL(baseUrl);
  // fetch refuses a URL with credentials; whether the endpoint answers does not depend on them.
  probe.username = '';
  probe.password = '';
  probe.pathname = `${probe.pathname.replace(/\/+$/, '')}/models`;
  return softReadinessCheck(
    {
      name: 'llm',
      async check() {
        try {
          (await fetchImpl(probe, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })).body?.cancel().catch(() => {});
          return { state: 'up', detail: shown };
        } catch (err) {
          return { state: 'down', detail: `cannot reach ${shown}: ${reasonOf(err)}` };
        }
      },
    },
    'tasks with an instruction fail LLM_UNAVAILABLE until it answers (tasks with explicit steps run)',
  );
}
