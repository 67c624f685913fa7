import {
  AbstractSigner,
  Transaction,
  getAddress,
  resolveAddress,
  toQuantity,
  type Provider,
  type TransactionRequest,
  type TypedDataDomain,
  type TypedDataField,
} from 'ethers';
import { redactUrl, redactUrlsIn } from '../../core/errors';
import { Web3Error } from '../web3-error';

let rpcId = 0;

/** How long a remote signer may take to answer (see RemoteSigner.timeoutMs). */
export const REMOTE_SIGNER_TIMEOUT_MS = 30_000;

/**
 * A signer whose key lives elsewhere: transactions are signed by a JSON-RPC service with
 * `eth_signTransaction` (Web3Signer's eth1 API; Clef's answer `{raw}` is accepted too). The
 * transaction must be fully populated (nonce, gas, fees, chain id): the remote signs exactly it.
 */
export class RemoteSigner extends AbstractSigner {
  readonly address: string;
  /**
   * Longest wait for the signer's answer. Shorter than the nonce lock's TTL (60 s), so a signer
   * that never answers (or a human who never confirms in Clef) ends the send with nothing signed
   * instead of holding the wallet's sends up.
   */
  readonly timeoutMs: number;

  constructor(readonly url: string, address: string, provider: Provider | null = null, opts: { timeoutMs?: number } = {}) {
    super(provider);
    this.address = getAddress(address);
    this.timeoutMs = opts.timeoutMs ?? REMOTE_SIGNER_TIMEOUT_MS;
  }

  async getAddress(): Promise<string> {
    return this.address;
  }

  connect(provider: Provider | null): RemoteSigner {
    return new RemoteSigner(this.url, this.address, provider, { timeoutMs: this.timeoutMs });
  }

  async signTransaction(tx: TransactionRequest): Promise<string> {
    const to = tx.to ? await resolveAddress(tx.to, this.provider) : undefined;
    const q = (v: unknown) => (v === undefined || v === null ? undefined : toQuantity(v as bigint));
    const params: Record<string, unknown> = {
      from: this.address,
      ...(to ? { to } : {}),
      data: tx.data ?? '0x',
      value: q(tx.value ?? 0),
      gas: q(tx.gasLimit),
      nonce: q(tx.nonce),
      chainId: q(tx.chainId),
    };
    if (tx.maxFeePerGas != null) {
      params.type = '0x2';
      params.maxFeePerGas = q(tx.maxFeePerGas);
      params.maxPriorityFeePerGas = q(tx.maxPriorityFeePerGas ?? 0);
    } else if (tx.gasPrice != null) {
      params.gasPrice = q(tx.gasPrice);
    }
    const result = await this.rpc('eth_signTransaction', [params]);
    const raw = typeof result === 'string' ? result : (result as { raw?: string })?.raw;
    if (typeof raw !== 'string' || !raw.startsWith('0x')) throw new Web3Error('SIGNER_FAILED', `remote signer ${redactUrl(this.url)} returned no signed transaction`);
    // Check the remote signed what we asked, from the account we expect.
    const signed = Transaction.from(raw);
    const same =
      signed.from?.toLowerCase() === this.address.toLowerCase() &&
      BigInt(signed.nonce) === BigInt(tx.nonce ?? -1) &&
      (signed.to ?? '').toLowerCase() === (to ?? '').toLowerCase() &&
      signed.data.toLowerCase() === String(tx.data ?? '0x').toLowerCase() &&
      signed.value === BigInt(tx.value ?? 0) &&
      signed.gasLimit === BigInt(tx.gasLimit ?? -1) &&
      signed.chainId === BigInt(tx.chainId ?? -1);
    if (!same) throw new Web3Error('SIGNER_FAILED', `remote signer ${redactUrl(this.url)} signed a different transaction than requested`);
    return raw;
  }

  signMessage(): Promise<string> {
    return Promise.reject(new Web3Error('SIGNER_FAILED', 'RemoteSigner signs transactions only'));
  }

  signTypedData(_d: TypedDataDomain, _t: Record<string, TypedDataField[]>, _v: Record<string, unknown>): Promise<string> {
    return Promise.reject(new Web3Error('SIGNER_FAILED', 'RemoteSigner signs transactions only'));
  }

  private async rpc(method: string, params: unknown[]): Promise<unknown> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const timedOut = (err: unknown) =>
      new Web3Error('SIGNER_FAILED', `remote signer ${redactUrl(this.url)} did not answer ${method} within ${this.timeoutMs} ms: the transaction was not sent (a signer that waits for a human must be answered sooner)`, err);
    let res: Response;
    try {
      res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }), signal });
    } catch (err) {
      if (signal.aborted) throw timedOut(err);
      throw new Web3Error('SIGNER_FAILED', `remote signer ${redactUrl(this.url)} unreachable: ${redactUrlsIn((err as Error).message)}`, err);
    }
    const body = (await res.json().catch((err) => {
      if (signal.aborted) throw timedOut(err);
      return {};
    })) as { result?: unknown; error?: { code?: number; message?: string } };
    if (body.error || !res.ok) throw new Web3Error('SIGNER_FAILED', `remote signer ${redactUrl(this.url)} refused ${method}: ${body.error?.message ?? `HTTP ${res.status}`}`);
    return body.result;
  }
}
