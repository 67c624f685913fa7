import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ADDRESS_PATTERN } from '../core/address';
import { ConfigError } from '../core/errors';
import { hasKey } from '../core/has-key';
import { loneSurrogateProblem } from '../core/lone-surrogate';
import { PrivateKeySchema } from '../core/private-key';
import { readSettingsDocument } from '../core/settings-text';
import { settingsIssuesText } from '../core/settings-issue';

const address = z.string().regex(ADDRESS_PATTERN, 'a 0x-prefixed 20-byte address');

export const WalletSpecSchema = z.discriminatedUnion('type', [
  /** A raw key: inline (demos only) or, better, named by an environment variable. */
  z.strictObject({ type: z.literal('key'), privateKey: PrivateKeySchema.optional(), privateKeyEnv: z.string().optional() }),
  /** An encrypted JSON keystore (Web3 Secret Storage); the password from an environment variable. */
  z.strictObject({ type: z.literal('keystore'), path: z.string().min(1), passwordEnv: z.string().min(1) }),
  /** A remote signer over JSON-RPC (eth_signTransaction), e.g. Web3Signer or Clef. */
  z.strictObject({ type: z.literal('remote'), url: z.string().url(), address }),
]);
export type WalletSpec = z.infer<typeof WalletSpecSchema>;

export const ContractSpecSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'letters, digits, _ and -'),
    address,
    /** The ABI inline, or a file with an ABI array or an artifact `{abi}` (relative to the chains file). */
    abi: z.array(z.unknown()).optional(),
    abiFile: z.string().optional(),
  })
  .refine((c) => !!c.abi !== !!c.abiFile, { message: 'give exactly one of abi or abiFile', path: ['abi'] });

export const ChainSpecSchema = z.strictObject({
  chainId: z.number().int().min(1),
  name: z.string().min(1).max(100).optional(),
  rpcUrl: z.string().url(),
  confirmations: z.number().int().min(0).max(64).default(1),
  wallet: WalletSpecSchema.optional(),
  contracts: z.array(ContractSpecSchema).default([]),
});
export type ChainSpec = z.infer<typeof ChainSpecSchema>;

export const ChainsFileSchema = z.strictObject({ chains: z.array(ChainSpecSchema).default([]) });

export type ResolvedContract = { name: string; address: string; abi: unknown[] };
export type ResolvedChain = Omit<ChainSpec, 'contracts'> & { contracts: ResolvedContract[] };

function fail(source: string, msg: string): never {
  throw new ConfigError(`CHAINS_FILE ${source}: ${msg}`, { variable: 'CHAINS_FILE' });
}

/**
 * Validate a chains document; ABI files resolve relative to `baseDir`. A refusal names every faulty
 * field (at most 5), each with its line and column when the file's `text` is given.
 */
export function parseChains(doc: unknown, baseDir: string, source = '(inline)', text?: string): ResolvedChain[] {
  const lone = loneSurrogateProblem(doc);
  if (lone) fail(source, lone);
  const parsed = ChainsFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    fail(source, settingsIssuesText(parsed.error.issues, doc, text));
  }
  const ids = new Set<number>();
  return parsed.data.chains.map((c, i) => {
    if (ids.has(c.chainId)) fail(source, `chains.${i}.chainId: ${c.chainId} listed twice`);
    ids.add(c.chainId);
    const contracts = c.contracts.map((k, j) => {
      let abi = k.abi;
      if (k.abiFile) {
        const p = isAbsolute(k.abiFile) ? k.abiFile : resolve(baseDir, k.abiFile);
        try {
          const json = JSON.parse(readFileSync(p, 'utf8')) as unknown;
          abi = Array.isArray(json) ? json : ((json as { abi?: unknown[] }).abi ?? undefined);
        } catch (err) {
          fail(source, `chains.${i}.contracts.${j}.abiFile: cannot read ${p}: ${(err as Error).message}`);
        }
        if (!abi) fail(source, `chains.${i}.contracts.${j}.abiFile: ${p} has no ABI`);
        const loneInAbi = loneSurrogateProblem(abi);
        if (loneInAbi) fail(source, `chains.${i}.contracts.${j}.abiFile: ${p}: ${loneInAbi}`);
      }
      return { name: k.name, address: k.address.toLowerCase(), abi: abi! };
    });
    return { ...c, contracts };
  });
}

/** Read CHAINS_FILE (JSON or YAML). Unset = no chains (web3 tools are not offered); set, it must list them (`chains: []` for none). */
export function loadChainsFile(path: string | undefined): ResolvedChain[] {
  if (!path) return [];
  const { doc, text } = readSettingsDocument(path, 'CHAINS_FILE');
  // Set but saying nothing (empty, only comments, `{}`): read as "no chains", the start went on
  // and the first transfer failed CHAIN_NOT_CONFIGURED while CHAINS_FILE was set.
  if (!hasKey(doc, 'chains')) fail(path, 'has no `chains` list (an empty file?): list the chains the agent may use (docs/agent.md), or unset CHAINS_FILE');
  return parseChains(doc, dirname(path), path, text);
}
