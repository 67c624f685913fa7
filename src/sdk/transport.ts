import type { z } from 'zod';
import { ProblemSchema } from '../api/problem';
import { redactUrl } from '../core/errors';
import { apiErrorOf, BaseUrlError, ConnectionError, ResponseShapeError } from './errors';
import { baseUrlProblem } from './base-url';

export type ClientOptions = {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** Where `baseUrl` came from (`OPENMCP_URL`): an unusable one's error (SDK_URL_INVALID) names it. Default `baseUrl`. */
  baseUrlSource?: string;
  /** API key (omk_…) or JWT. */
  apiKey?: string;
  /** Where `apiKey` came from (e.g. `OPENMCP_API_KEY`): a refused key's error names it (UnauthenticatedApiError.keySource). */
  keySource?: string;
  /** Attempts after the first on 429 (any method) and 503 or connection errors (GET, PATCH, DELETE, a cancel, and a POST with an Idempotency-Key). Default 3. */
  retries?: number;
  /** Cap on one wait, including a server's Retry-After. Default 10 000 ms. */
  maxRetryDelayMs?: number;
  /**
   * How long one attempt may take, answer body included, before it counts as a lost connection
   * (retried as one). Default 30 000 ms: without it a server that accepts the connection and never
   * answers (a hung proxy, a stopped process) holds a call, and a CLI command, for many minutes.
   */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Sent as x-request-id; it becomes the correlationId of the events a command appends. */
  requestId?: () => string | undefined;
};

export type RequestParameters = {
  /** PATCH sets a whole value (a key's agents): a repeat changes nothing, so it is retried like a GET. */
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** An Idempotency-Key makes a POST safe to retry: the server answers a repeat with what the first did. */
  idempotencyKey?: string;
  /** A POST the server makes idempotent by itself (a cancel: a repeat changes nothing): retried like a GET. */
  idempotent?: boolean;
  /**
   * Refusals (status and problem code) that, answering a retry after an attempt whose outcome is
   * unknown (its answer lost, or a 503), say that attempt did it: a DELETE repeated finds the key
   * revoked already or the MCP server removed already (409 INVALID_TRANSITION). Such an answer is
   * returned as `204` with `Idempotent-Replayed: true`; any other refusal (a 409 of another code,
   * a 404 NOT_FOUND for an id never had or ROUTE_NOT_FOUND from a proxy) is not the lost attempt's
   * work and is returned as it came.
   */
  doneIfRetryAnswers?: { status: number; code: string }[];
  /**
   * Refusals (status and problem code) that say the same request is still being done (a retry
   * under the same Idempotency-Key while its first attempt runs on: 409 IDEMPOTENCY_KEY_IN_USE):
   * waited out (Retry-After) and asked again, as a 429 is; returned as they came once the retries are spent.
   */
  busyIfAnswers?: { status: number; code: string }[];
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `code` of a problem document, or undefined when `text` is not one. */
function problemCodeIn(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function queryString(q: RequestParameters['query']): string {
  if (!q) return '';
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * One HTTP exchange with retries: 429 is always safe to retry (the server refused before doing
 * anything); 503 and lost connections only for GET, PATCH and DELETE, and for a POST with an
 * Idempotency-Key or one idempotent by itself (a cancel), because any other POST may have been applied before the failure. Waits honour Retry-After, else back off exponentially with jitter.
 */
export async function request(o: ClientOptions, p: RequestParameters): Promise<Response> {
  // Said at once: fetch would refuse such a URL on every attempt, read as a lost connection and retried.
  const unusable = baseUrlProblem(o.baseUrl, o.baseUrlSource ?? 'baseUrl');
  if (unusable) throw new BaseUrlError(unusable);
  const doFetch = o.fetch ?? fetch;
  const url = `${o.baseUrl.replace(/\/$/, '')}${p.path}${queryString(p.query)}`;
  const retries = o.retries ?? 3;
  const maxDelay = o.maxRetryDelayMs ?? 10_000;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const idempotent = p.method !== 'POST' || p.idempotencyKey !== undefined || p.idempotent === true;
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  if (p.body !== undefined) headers['content-type'] = 'application/json';
  const rid = o.requestId?.();
  if (rid) headers['x-request-id'] = rid;
  if (p.idempotencyKey !== undefined) headers['idempotency-key'] = p.idempotencyKey;
  // Whether an earlier attempt may have been applied without our hearing it (lost answer, 503).
  let outcomeUnknown = false;
  for (let attempt = 0; ; attempt++) {
    const backoff = Math.min(maxDelay, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
    let res: Response;
    try {
      res = await doFetch(url, { method: p.method, headers, body: p.body === undefined ? undefined : JSON.stringify(p.body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      if (idempotent && attempt < retries) {
        outcomeUnknown = true;
        await sleep(backoff);
        continue;
      }
      throw new ConnectionError(redactUrl(url), err, (err as Error)?.name === 'TimeoutError' ? timeoutMs : undefined);
    }
    if (outcomeUnknown && p.doneIfRetryAnswers?.some((d) => d.status === res.status)) {
      const text = await res.text().catch((err: unknown) => {
        throw new ConnectionError(redactUrl(url), err);
      });
      if (p.doneIfRetryAnswers.some((d) => d.status === res.status && d.code === problemCodeIn(text))) {
        return new Response(null, { status: 204, headers: { 'idempotent-replayed': 'true' } });
      }
      return new Response(text, { status: res.status, headers: res.headers });
    }
    if (attempt < retries && p.busyIfAnswers?.some((b) => b.status === res.status)) {
      const text = await res.text().catch((err: unknown) => {
        throw new ConnectionError(redactUrl(url), err);
      });
      if (!p.busyIfAnswers.some((b) => b.status === res.status && b.code === problemCodeIn(text))) return new Response(text, { status: res.status, headers: res.headers });
      const after = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(maxDelay, after * 1000) : backoff);
      continue;
    }
    const retryable = res.status === 429 || (res.status === 503 && idempotent);
    if (retryable && attempt < retries) {
      if (res.status === 503) outcomeUnknown = true;
      const after = Number(res.headers.get('retry-after'));
      await res.body?.cancel().catch(() => {});
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(maxDelay, after * 1000) : backoff);
      continue;
    }
    return res;
  }
}

/** Parse a JSON answer with `schema`; turn a problem answer into a typed OpenMcpApiError. */
export async function parse<T extends z.ZodType>(res: Response, schema: T, what: string, okStatuses: number[] = [200]): Promise<z.infer<T>> {
  return (await parseWithText(res, schema, what, okStatuses)).value;
}

/**
 * `parse`, also returning the answer's text as it came: a file to save as the server wrote it
 * (a proof file), which re-serializing the parsed value could change (key order, a key named twice).
 */
export async function parseWithText<T extends z.ZodType>(res: Response, schema: T, what: string, okStatuses: number[] = [200]): Promise<{ value: z.infer<T>; text: string }> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    // The answer stopped coming after its headers (the attempt's timeout, a dropped connection):
    // as lost as no answer at all, and said the same way.
    throw new ConnectionError(redactUrl(res.url || what), err);
  }
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ResponseShapeError(what, `status ${res.status}, not JSON: ${text.slice(0, 120)}`);
  }
  if (!okStatuses.includes(res.status)) {
    const problem = ProblemSchema.safeParse(json);
    if (problem.success) throw apiErrorOf(problem.data);
    throw new ResponseShapeError(what, `status ${res.status} without a problem document`);
  }
  const out = schema.safeParse(json);
  if (!out.success) throw new ResponseShapeError(what, out.error.issues[0]?.message ?? 'invalid');
  return { value: out.data, text };
}

/** For 204 answers: nothing to parse, but errors are still typed. */
export async function expectNoContent(res: Response, what: string): Promise<void> {
  if (res.status === 204) return;
  await parse(res, ProblemSchema, what, [204]);
}
