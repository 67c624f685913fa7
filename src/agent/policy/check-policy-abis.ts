import type { FunctionFragment } from 'ethers';
import { ConfigError } from '../../core/errors';
import type { ChainRegistry } from '../../web3/chain-registry';
import { overloadsOf } from '../../web3/contract-function';
import { isSignatureKey } from './method-key';
import type { PolicyFile } from './policy';

/**
 * Refuse, at start-up, method rules that the configured ABIs make unsafe or meaningless:
 * a rule keyed by the bare name of an overloaded function (which overload's argument would its
 * `amountArg` read? a cap could be dodged through another one: key each overload by signature),
 * and an `amountArg` that is not a parameter of the function it governs. Contracts the chains do
 * not configure are not checked (nothing can be sent to them). Throws ConfigError naming the rule.
 */
export function assertPolicyFitsChains(file: PolicyFile, chains: ChainRegistry): void {
  file.policies.forEach((entry, i) =>
    entry.contracts.forEach((rule, j) => {
      const c = chains.find(rule.chainId, rule.address);
      if (!c) return;
      for (const [key, method] of Object.entries(rule.methods)) {
        const where = `POLICY_FILE: policies.${i}.contracts.${j}.methods.${key}`;
        let f: FunctionFragment | null = null;
        if (isSignatureKey(key)) {
          f = c.iface.getFunction(key);
        } else {
          const overloads = overloadsOf(c, key);
          if (overloads.length > 1) throw new ConfigError(`${where}: ${key} is overloaded in ${c.name}'s ABI (${overloads.join(', ')}): key each overload by its signature`, { variable: 'POLICY_FILE' });
          if (overloads.length === 1) f = c.iface.getFunction(overloads[0]);
        }
        const a = method.amountArg;
        if (!f || a === undefined) continue;
        const names = f.inputs.map((p) => p.name);
        if (typeof a === 'number' ? a >= names.length : !names.includes(a)) {
          throw new ConfigError(`${where}: amountArg ${a} is not a parameter of ${f.format('full')}`, { variable: 'POLICY_FILE' });
        }
      }
    }),
  );
}
