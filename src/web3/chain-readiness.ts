import { redactUrlsIn } from '../core/errors';

export type ChainReadinessParameters = {
  rpcUrl: string;
  /** The AuditAnchor address, named in the detail. */
  contract: string;
  /** CHAIN_ID: another chain id in the answer is down (the anchorer anchors nothing there). */
  chainId?: number;
  /**
   * Without CHAIN_ID: the chain id the anchorer saw at its first contact (undefined before it), which
   * it keeps to for the process's life. Another one in the answer is down, as for CHAIN_ID.
   */
  startedOn?: () => number | undefined;
  timeoutMs?: number;
};

/**
 * The chain's line of /readyz: `eth_chainId` asked of the RPC, answered with a chain id. A user
 * name and password in the URL (a node behind basic auth) go as an Authorization header, as the
 * anchorer's provider sends them (fetch refuses a URL with credentials). An HTTP error, or a
 * JSON-RPC error (a provider refusing an unknown API key answers 200 with one), is down, and so
 * is another chain than `chainId` (CHAIN_ID) says.
 * @example await chainReadiness({ rpcUrl: 'https://u:p@node/', contract }) // { state: 'up', detail: 'chain 1, AuditAnchor at 0x…' }
 */
export async function chainReadiness(p: ChainReadinessParameters): Promise<{ state: 'up' | 'down'; detail: string }> {
  const url = new URL(p.rpcUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    signal: AbortSignal.timeout(p.timeoutMs ?? 2000),
  });
  if (!res.ok) return { state: 'down', detail: `HTTP ${res.status}` };
  const body = (await res.json().catch(() => undefined)) as { result?: unknown; error?: { message?: unknown } } | undefined;
  if (typeof body?.result !== 'string') {
    return { state: 'down', detail: redactUrlsIn(`JSON-RPC error: ${String(body?.error?.message ?? 'no chain id in the answer')}`, { pathKeys: true }).slice(0, 300) };
  }
  const chainId = Number(body.result);
  if (p.chainId !== undefined && chainId !== p.chainId) return { state: 'down', detail: `CHAIN_ID is ${p.chainId} but CHAIN_RPC_URL serves chain ${chainId}: nothing is anchored there` };
  const started = p.chainId === undefined ? p.startedOn?.() : undefined;
  if (started !== undefined && chainId !== started) {
    return { state: 'down', detail: `CHAIN_RPC_URL served chain ${started} when the anchorer started and now serves chain ${chainId}: nothing is anchored there (point it back, or set CHAIN_ID=${chainId} and restart)` };
  }
  return { state: 'up', detail: `chain ${chainId}, AuditAnchor at ${p.contract}` };
}
