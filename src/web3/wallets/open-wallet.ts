import { readFileSync } from 'node:fs';
import { Wallet, type AbstractSigner, type Provider } from 'ethers';
import { ConfigError } from '../../core/errors';
import { isPrivateKey } from '../../core/private-key';
import type { WalletSpec } from '../chains-file';
import { RemoteSigner } from './remote-signer';

/**
 * The signer a chain's wallet spec names: a local key (Wallet), an encrypted JSON keystore
 * (decrypted once at start; scrypt makes that take a second or more), or a remote JSON-RPC signer.
 * Secrets come from environment variables named in the spec, never from the log.
 */
export async function openWallet(spec: WalletSpec, provider: Provider, env: NodeJS.ProcessEnv = process.env): Promise<AbstractSigner> {
  switch (spec.type) {
    case 'key': {
      const given = spec.privateKey ?? (spec.privateKeyEnv ? env[spec.privateKeyEnv] : undefined);
      // ethers' Wallet takes a key without its 0x too.
      const key = given && !given.startsWith('0x') ? `0x${given}` : given;
      if (!key) throw new ConfigError(`CHAINS_FILE: wallet key missing (set privateKey or the variable named by privateKeyEnv${spec.privateKeyEnv ? ` = ${spec.privateKeyEnv}` : ''})`, { variable: spec.privateKeyEnv ?? 'CHAINS_FILE' });
      // The file's own key is checked where the file is read (PrivateKeySchema); a variable's here, named, never echoed.
      if (!isPrivateKey(key)) {
        throw new ConfigError(`CHAINS_FILE: the wallet key in ${spec.privateKeyEnv} is not a secp256k1 private key (0x and 64 hex digits, above 0 and below the curve order)`, { variable: spec.privateKeyEnv ?? 'CHAINS_FILE' });
      }
      return new Wallet(key, provider);
    }
    case 'keystore': {
      const password = env[spec.passwordEnv];
      if (password === undefined) throw new ConfigError(`CHAINS_FILE: keystore password variable ${spec.passwordEnv} is not set`, { variable: spec.passwordEnv });
      let json: string;
      try {
        json = readFileSync(spec.path, 'utf8');
      } catch (err) {
        throw new ConfigError(`CHAINS_FILE: cannot read keystore ${spec.path}: ${(err as Error).message}`, { variable: 'CHAINS_FILE' });
      }
      try {
        return (await Wallet.fromEncryptedJson(json, password)).connect(provider);
      } catch (err) {
        throw new ConfigError(`CHAINS_FILE: keystore ${spec.path} could not be decrypted (wrong password in ${spec.passwordEnv}?): ${(err as Error).message}`, { variable: spec.passwordEnv });
      }
    }
    case 'remote':
      return new RemoteSigner(spec.url, spec.address, provider);
  }
}
