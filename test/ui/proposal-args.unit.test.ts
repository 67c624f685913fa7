import { expect } from 'chai';
import fc from 'fast-check';
import { formatUnits as ethersFormatUnits } from 'ethers';

// ui/app is plain ES modules (ui/package.json: type module): the very files the dashboard serves.
type ArgLine = { label: string; type?: string; value: string; inUnits?: string };
type Modules = {
  format: { formatUnits(raw: string | undefined, decimals: number, symbol: string): string; formatWei(wei: string | undefined): string };
  args: { describeArgs(p: { method: string; args?: unknown[] }, c: unknown): ArgLine[] };
};
// Paths held in strings: tsc does not look for types of browser modules it would not compile.
const FORMAT: string = '../../ui/app/format.js';
const ARGS: string = '../../ui/app/proposal-args.js';
const load = async (): Promise<Modules> => ({ format: await import(FORMAT), args: await import(ARGS) });

const DEMO = {
  name: 'DemoToken',
  method: { signature: 'transfer(address to, uint256 amount)', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }] },
  token: { symbol: 'DEMO', decimals: 18 },
};
const RECIPIENT = '0x000000000000000000000000000000000000beef';

describe('dashboard approvals: what an approver reads of a proposal', () => {
  it('shows a token amount in the token units beside the raw integer, named by the ABI', async () => {
    const { args } = await load();
    const lines = args.describeArgs({ method: 'transfer', args: [RECIPIENT, '500'] }, DEMO);
    expect(lines).to.deep.equal([
      { label: 'to', type: 'address', value: RECIPIENT },
      { label: 'amount', type: 'uint256', value: '500', inUnits: '0.0000000000000005 DEMO' },
    ]);
    const big = args.describeArgs({ method: 'transfer', args: [RECIPIENT, '123456789012345678901234567'] }, DEMO);
    expect(big[1].inUnits).to.equal('123,456,789.012345678901234567 DEMO');
  });

  it('gives no token reading where ERC-20 does not say what the integer is, and every raw value without a description', async () => {
    const { args } = await load();
    const mint = { ...DEMO, method: { signature: 'mint(address to, uint256 id)', inputs: [{ name: 'to', type: 'address' }, { name: 'id', type: 'uint256' }] } };
    expect(args.describeArgs({ method: 'mint', args: [RECIPIENT, '7'] }, mint)[1]).to.not.have.property('inUnits');
    expect(args.describeArgs({ method: 'transfer', args: [RECIPIENT, '500', ['x', 1]] }, undefined)).to.deep.equal([
      { label: '#1', value: RECIPIENT },
      { label: '#2', value: '500' },
      { label: '#3', value: '["x",1]' },
    ]);
  });

  it('formats any integer in any decimals exactly (never through a JS number), as ethers does', async () => {
    const { format } = await load();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.integer({ min: 0, max: 77 }), (v, d) => {
        const ours = format.formatUnits(v.toString(), d, 'T').replace(/,/g, '');
        expect(ours).to.equal(`${ethersFormatUnits(v, d).replace(/\.0$/, '')} T`);
      }),
    );
    expect(format.formatWei('9007199254740993')).to.equal('0.009007199254740993 ETH (9,007,199,254,740,993 wei)');
    expect(format.formatUnits('12', -1, 'T')).to.equal('—');
    expect(format.formatUnits('1e18', 18, 'T')).to.equal('—');
  });
});
