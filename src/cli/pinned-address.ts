import { isHexAddress } from '../core/address';

/**
 * What is wrong with an address an auditor pins (`--contract`, `--signer`), or undefined. Checked
 * before anything else: unchecked, `nothex` was looked up as an ENS name ("network does not support
 * ENS") or reported as a signature by the wrong sealer.
 * @example pinnedAddressProblem('--signer', 'nothex') // "--signer nothex is not an address (0x and 40 hex digits)"
 */
export function pinnedAddressProblem(option: string, value: string | undefined): string | undefined {
  if (value === undefined || isHexAddress(value)) return undefined;
  if (value.trim() === '') return `${option} is empty: give an address (0x and 40 hex digits), or leave it unset`;
  return `${option} ${value} is not an address (0x and 40 hex digits)`;
}
