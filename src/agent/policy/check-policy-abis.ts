import type { FunctionFragment } from 'ethers';
import { ConfigError } from '../../core/errors';
import type { ChainRegistry } from '../../web3/chain-registry';
import { functionFacts, overloadsOf, resolveFunction } from '../../web3/contract-function';
import { Web3Error } from '../../web3/web3-error';
import { amountIndex } from './method-rule';
import { isSignatureKey } from './method-key';
import type { PolicyFile } from './policy';

/**
 * Refuse, at start-up, method rules that the configured ABIs make unsafe or meaningless:
 * a rule keyed by the bare name of an overloaded function (which overload's argument would its
 * `amountArg` read? a cap could be dodged through another one: key each overload by signature),
 * a bare-name rule beside a rule keyed by the same function's signature (the signature's would
 * apply, the name's silently not), and an `amountArg` that is not a parameter of the function it
 * governs. Contracts the chains do not configure are not checked (nothing can be sent to them),
 * nor keys that name no function of the ABI. The function a key governs and the argument its `amountArg` reads are found as the
 * runtime finds them (resolveFunction, amountIndex). Throws ConfigError naming the rule.
 */
export function assertPolicyFitsChains(file: PolicyFile, chains: ChainRegistry): void {
  file.policies.forEach((entry, i) =>
    entry.contracts.forEach((rule, j) => {
      const c = chains.find(rule.chainId, rule.address);
      if (!c) return;
      for (const [key, method] of Object.entries(rule.methods)) {
        const where = `POLICY_FILE: policies.${i}.contracts.${j}.methods.${key}`;
        let f: FunctionFragment;
        try {
          f = resolveFunction(c, key);
        } catch (err) {
          if (err instanceof Web3Error && err.code === 'CONTRACT_METHOD_AMBIGUOUS') {
            throw new ConfigError(`${where}: ${key} is overloaded in ${c.name}'s ABI (${overloadsOf(c, key).join(', ')}): key each overload by its signature`, { variable: 'POLICY_FILE' });
          }
          continue; // no such function: the rule governs nothing here
        }
        // A selector resolves to a function, but a proposal is matched by its name or signature only.
        if (!isSignatureKey(key) && f.name !== key) continue;
        // Its signature's rule would win over this name's (matchMethodRule): two rules, one applied.
        const signature = f.format('sighash');
        if (!isSignatureKey(key) && Object.hasOwn(rule.methods, signature)) {
          throw new ConfigError(`${where}: names the same function of ${c.name} as the key ${signature}, whose rule is the one that applies: keep one`, { variable: 'POLICY_FILE' });
        }
        const a = amountIndex(method, functionFacts(c, f));
        if (a !== undefined && (a < 0 || a >= f.inputs.length)) {
          throw new ConfigError(`${where}: amountArg ${method.amountArg} is not a parameter of ${f.format('full')}`, { variable: 'POLICY_FILE' });
        }
      }
    }),
  );
}
