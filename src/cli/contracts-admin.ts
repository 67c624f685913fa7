import { isError, Wallet, type Contract, type ContractTransactionReceipt, type ContractTransactionResponse } from 'ethers';
import { redactUrl, UnavailableError } from '../core/errors';
import type { Hex } from '../core/hex';
import { AnchorAdminRefusedError, AnchorContractMissingError } from '../proofs/errors';
import { formatAdminDelay } from '../web3/admin-delay';
import { auditAnchorAt } from '../web3/audit-anchor';
import { isInsufficientFunds } from '../web3/insufficient-funds';
import { chainRpcProblem, rpcRefusal } from '../proofs/chain-rpc-problem';
import { createRpcProvider } from '../web3/provider';
import type { Writer } from './print-checks';

export type ContractsAdminOptions = {
  rpc: string;
  /** The AuditAnchor (ANCHOR_CONTRACT). */
  contract: string;
  out?: Writer;
};

export type ContractsAdminSendOptions = ContractsAdminOptions & {
  /** begin and cancel: the admin's key; accept: the new admin's. */
  privateKey: Hex;
};

const SINGLE_STEP =
  'was deployed by a release before 2026-12-11: its admin moves in one step, grantRole(DEFAULT_ADMIN_ROLE, new) then revokeRole(DEFAULT_ADMIN_ROLE, old) from the new admin (docs/operations.md, "Rotating keys")';

/** `openmcp contracts admin status`: the admin, the delay and any handover or delay change pending. */
export async function contractsAdminStatus(o: ContractsAdminOptions): Promise<void> {
  const out = o.out ?? ((l: string) => console.log(l));
  await withAnchor(o, undefined, async (c, chainId) => {
    const contract = o.contract.toLowerCase();
    if (!(await hasTwoStepAdmin(c))) {
      out(`AuditAnchor ${contract} on chain ${chainId} ${SINGLE_STEP}`);
      return;
    }
    const [admin, delay, [pending, schedule], [newDelay, delaySchedule]] = await Promise.all([
      c.defaultAdmin() as Promise<string>,
      c.defaultAdminDelay() as Promise<bigint>,
      c.pendingDefaultAdmin() as Promise<[string, bigint]>,
      c.pendingDefaultAdminDelay() as Promise<[bigint, bigint]>,
    ]);
    out(`AuditAnchor ${contract} on chain ${chainId}: two-step admin`);
    out(`admin: ${admin.toLowerCase()}`);
    out(`admin handover delay: ${delay} s (${formatAdminDelay(Number(delay))})`);
    if (schedule === 0n) out('pending admin: none');
    else if (BigInt(pending) === 0n) {
      // The one way to give the role up (OpenZeppelin): a handover to the zero address, then renounceRole.
      out(
        `pending admin: none; the admin's renouncement is scheduled: after ${isoTime(schedule)}, renounceRole(DEFAULT_ADMIN_ROLE, ${admin.toLowerCase()}) leaves the contract without an admin for good (cancel stops it)`,
      );
    } else out(`pending admin: ${pending.toLowerCase()}, who can accept after ${isoTime(schedule)}`);
    if (delaySchedule !== 0n) out(`pending delay change: ${newDelay} s (${formatAdminDelay(Number(newDelay))}) from ${isoTime(delaySchedule)}`);
  });
}

/**
 * `openmcp contracts admin begin <newAdmin>`: the admin schedules the handover. Nothing changes
 * until newAdmin accepts, after the delay; a handover pending before is replaced.
 */
export async function contractsAdminBegin(o: ContractsAdminSendOptions & { newAdmin: string }): Promise<void> {
  const out = o.out ?? ((l: string) => console.log(l));
  await withAnchor(o, o.privateKey, async (c, chainId, me) => {
    await preflight(o.contract, c, () => c.beginDefaultAdminTransfer.staticCall(o.newAdmin), me);
    // The contract replaces a pending handover without a word: say which one goes.
    const [before, beforeSchedule] = (await c.pendingDefaultAdmin()) as [string, bigint];
    const receipt = await send(o.contract, c, chainId, me, 'beginDefaultAdminTransfer', () => c.beginDefaultAdminTransfer(o.newAdmin));
    const [, schedule] = (await c.pendingDefaultAdmin({ blockTag: receipt.blockNumber })) as [string, bigint];
    out(`handover scheduled (tx ${receipt.hash}, block ${receipt.blockNumber}): ${o.newAdmin.toLowerCase()} can accept after ${isoTime(schedule)}`);
    if (beforeSchedule !== 0n) out(`this replaces the handover to ${before.toLowerCase()}, pending until now (it could have been accepted after ${isoTime(beforeSchedule)})`);
    out(`the new admin then runs: openmcp contracts admin accept --rpc … --contract ${o.contract.toLowerCase()} --private-key-file NEW_ADMIN_KEY_FILE; until then ${me.toLowerCase()} stays admin and can cancel`);
  });
}

/** `openmcp contracts admin accept`: the pending admin takes the role, once the delay is over. */
export async function contractsAdminAccept(o: ContractsAdminSendOptions): Promise<void> {
  const out = o.out ?? ((l: string) => console.log(l));
  await withAnchor(o, o.privateKey, async (c, chainId, me) => {
    await preflight(o.contract, c, () => c.acceptDefaultAdminTransfer.staticCall(), me);
    const receipt = await send(o.contract, c, chainId, me, 'acceptDefaultAdminTransfer', () => c.acceptDefaultAdminTransfer());
    out(`admin is now ${me.toLowerCase()} (tx ${receipt.hash}, block ${receipt.blockNumber})`);
  });
}

/** `openmcp contracts admin cancel`: the admin drops a pending handover. */
export async function contractsAdminCancel(o: ContractsAdminSendOptions): Promise<void> {
  const out = o.out ?? ((l: string) => console.log(l));
  await withAnchor(o, o.privateKey, async (c, chainId, me) => {
    await preflight(o.contract, c, () => c.cancelDefaultAdminTransfer.staticCall(), me);
    const [pending, schedule] = (await c.pendingDefaultAdmin()) as [string, bigint];
    if (schedule === 0n) throw new AnchorAdminRefusedError(o.contract.toLowerCase(), 'nothing-pending', `no admin handover is pending on ${o.contract.toLowerCase()}`);
    const receipt = await send(o.contract, c, chainId, me, 'cancelDefaultAdminTransfer', () => c.cancelDefaultAdminTransfer());
    out(`handover to ${pending.toLowerCase()} cancelled (tx ${receipt.hash}, block ${receipt.blockNumber}); admin stays ${me.toLowerCase()}`);
  });
}

/** Run `fn` on the AuditAnchor at o.contract, refusing an address without one (as the anchorer does). */
async function withAnchor(o: ContractsAdminOptions, privateKey: Hex | undefined, fn: (c: Contract, chainId: number, me: string) => Promise<void>): Promise<void> {
  const provider = createRpcProvider(o.rpc);
  try {
    const wallet = privateKey ? new Wallet(privateKey, provider) : undefined;
    const c = auditAnchorAt(o.contract, wallet ?? provider);
    const [network, code] = await Promise.all([provider.getNetwork(), provider.getCode(o.contract)]).catch((err: unknown) => {
      throw unreachable(err, o.rpc);
    });
    const chainId = Number(network.chainId);
    if (code === '0x') throw new AnchorContractMissingError(o.contract.toLowerCase(), chainId);
    await c.nextBatchId().catch((err: unknown) => {
      // An RPC refusing the call (a rate limit) is no answer about the contract: ethers takes it for a revert.
      const notAuditAnchor = (isError(err, 'CALL_EXCEPTION') && !rpcRefusal(err)) || isError(err, 'BAD_DATA');
      throw notAuditAnchor ? new AnchorContractMissingError(o.contract.toLowerCase(), chainId, 'not-audit-anchor', err) : err;
    });
    await fn(c, chainId, wallet?.address ?? '');
  } catch (err) {
    // A rate limit, a used-up quota: in the node's words, with the option to change.
    throw chainRpcProblem(err, o.rpc, 'see its dashboard, or pass another --rpc (CHAIN_RPC_URL))');
  } finally {
    provider.destroy();
  }
}

/** A node that refuses the connection, has no such host, or does not answer in time: named by its URL (credentials masked). */
function unreachable(err: unknown, rpc: string): unknown {
  const said = String((err as Error)?.message ?? err);
  if (!isError(err, 'TIMEOUT') && !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(said)) return err;
  return new UnavailableError('chain', `no JSON-RPC node answers at ${redactUrl(rpc, { pathKeys: true })} (${said.slice(0, 200)}): check --rpc (CHAIN_RPC_URL)`, err);
}

/** Contracts deployed before release 2026-12-11 have no defaultAdmin(): their call reverts without data. */
async function hasTwoStepAdmin(c: Contract): Promise<boolean> {
  return c.defaultAdmin().then(
    () => true,
    (err: unknown) => {
      // An RPC refusing the call (a rate limit) says nothing of the contract: withAnchor names it.
      if (isError(err, 'CALL_EXCEPTION') && !rpcRefusal(err)) return false;
      if (isError(err, 'BAD_DATA')) return false;
      throw err;
    },
  );
}

/**
 * Call the transaction first and name why the contract would revert it, so that a refused handover
 * costs no gas and says what to do (a wrong key, too early, no such contract model).
 */
async function preflight(contract: string, c: Contract, call: () => Promise<unknown>, me: string): Promise<void> {
  const address = contract.toLowerCase();
  if (!(await hasTwoStepAdmin(c))) throw new AnchorAdminRefusedError(address, 'single-step-admin', `the AuditAnchor at ${address} ${SINGLE_STEP}`);
  try {
    await call();
  } catch (err) {
    const revert = isError(err, 'CALL_EXCEPTION') ? err.revert : undefined;
    const account = me.toLowerCase();
    if (revert?.name === 'AccessControlUnauthorizedAccount') {
      const admin = String(await c.defaultAdmin()).toLowerCase();
      throw new AnchorAdminRefusedError(address, 'not-admin', `${account} is not the admin of ${address} (the admin is ${admin}): give the admin's key`, { account, admin }, err);
    }
    if (revert?.name === 'AccessControlInvalidDefaultAdmin') {
      const [pending, schedule] = (await c.pendingDefaultAdmin()) as [string, bigint];
      const who = schedule === 0n ? 'no handover is pending' : `the pending admin is ${pending.toLowerCase()}`;
      throw new AnchorAdminRefusedError(address, 'not-pending-admin', `${account} cannot accept the admin role of ${address}: ${who}`, { account }, err);
    }
    if (revert?.name === 'AccessControlEnforcedDefaultAdminDelay') {
      const schedule = BigInt(revert.args[0]);
      throw new AnchorAdminRefusedError(address, 'too-early', `the admin handover of ${address} can be accepted after ${isoTime(schedule)}, not before`, { acceptAfter: isoTime(schedule) }, err);
    }
    throw err;
  }
}

/**
 * Send the transaction and wait for one block. An account that cannot pay the gas (a new admin's
 * fresh key often holds no ether) is refused by the node: said in one line (geth's
 * INSUFFICIENT_FUNDS; Hardhat's "Sender doesn't have enough funds", which ethers leaves as
 * "could not coalesce error" with the raw signed transaction).
 */
async function send(contract: string, c: Contract, chainId: number, me: string, fn: string, tx: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  let sent: ContractTransactionResponse;
  try {
    sent = await tx();
  } catch (err) {
    if (!isInsufficientFunds(err)) throw err;
    const account = me.toLowerCase();
    const balance = await c.runner!.provider!.getBalance(me);
    throw new AnchorAdminRefusedError(contract.toLowerCase(), 'no-funds', `${account} cannot pay the gas of ${fn} on chain ${chainId}: its balance is ${balance} wei; fund it`, { account, chainId, balance: balance.toString() }, err);
  }
  const receipt = await sent.wait(1);
  if (!receipt) throw new Error(`${fn} transaction ${sent.hash} was replaced or dropped`);
  return receipt;
}

function isoTime(unixSeconds: bigint): string {
  return new Date(Number(unixSeconds) * 1000).toISOString();
}
