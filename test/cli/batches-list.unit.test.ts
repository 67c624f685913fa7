import colors from '@colors/colors/safe';
import { expect } from 'chai';
import { runBatchesList } from '../../src/cli/batches-list';
import type { OpenMcpClient } from '../../src/sdk/client';
import { ForbiddenApiError } from '../../src/sdk/errors';

/**
 * README and docs/proofs.md send an auditor to the sealed batches (`GET /v1/batches`) for the ids
 * to export and the anchors to look at; the CLI had no command for them, so a CLI user took curl.
 */
describe('openmcp batches list: the sealed batches and their anchors', () => {
  const root = (b: string) => `0x${b.repeat(32)}`;
  const anchored = {
    id: 1, firstSeq: 3, lastSeq: 5, size: 3, firstPosition: 3, lastPosition: 5, root: root('aa'), prevRoot: root('bb'),
    signer: `0x${'0c'.repeat(20)}`, signature: `0x${'11'.repeat(65)}`, sealedAt: '2026-12-07T20:01:26.578Z',
    anchor: { chainId: 31337, contract: `0x${'5f'.repeat(20)}`, txHash: root('dd'), blockNumber: 3, anchoredAt: '2026-12-07T20:01:27.583Z' },
  };
  const pending = { ...anchored, id: 2, firstSeq: 6, lastSeq: 15, size: 10, root: root('ee'), prevRoot: root('aa'), anchor: null };
  const asked: unknown[] = [];
  const client = {
    batches: {
      list: async (query: unknown) => (asked.push(['list', query]), { items: [pending], nextCursor: 'c1' }),
      all: (query: unknown) => {
        asked.push(['all', query]);
        return (async function* () {
          yield pending;
          yield anchored;
        })();
      },
    },
  } as unknown as OpenMcpClient;
  beforeEach(() => (asked.length = 0));

  it('prints a row per batch, newest first: its seqs, root, signer and anchor (or that it is not anchored yet)', async () => {
    const lines: string[] = [];
    expect(await runBatchesList(client, { all: true }, (l) => lines.push(l), false)).to.equal(0);
    expect(asked).to.deep.equal([['all', { limit: undefined, cursor: undefined }]]);
    const text = lines.join('\n');
    for (const column of ['id', 'seqs', 'events', 'root', 'signer', 'anchor']) expect(text).to.contain(column);
    const rows = text.split('\n').filter((l) => /^│ \d/.test(l));
    expect(rows).to.have.length(2);
    expect(rows[0]).to.match(/│ 2 +│ 6\.\.15 +│ 10 +│ 0xe{64} +│ 0x(0c){20} +│ not anchored yet +│/);
    expect(rows[1]).to.match(new RegExp(`│ 1 +│ 3\\.\\.5 +│ 3 +│ 0xa{64} +│ 0x(0c){20} +│ chain 31337, ${anchored.anchor.contract}, block 3, tx 0x(dd){32} +│`));
  });

  // On a terminal the table is coloured; its own colour codes were escaped with the server's text, the whole table printed as \u001b[90m┌──…
  it('on a terminal: the table in colour, as every table of the CLI, and only the server\'s text escaped', async () => {
    const lines: string[] = [];
    const forged = { ...pending, signer: 'x\u001b[2Jy', anchor: { ...anchored.anchor, contract: 'c\nd' } };
    const odd = { batches: { list: async () => ({ items: [forged] }) } } as unknown as OpenMcpClient;
    // cli-table3 colours through @colors/colors, which turns itself off where CI is set (as in .ci/run): on here, as on a terminal.
    const wasEnabled = colors.enabled;
    colors.enable();
    try {
      expect(await runBatchesList(odd, {}, (l) => lines.push(l), true)).to.equal(0);
    } finally {
      if (!wasEnabled) colors.disable();
    }
    const text = lines.join('\n');
    expect(text).to.contain('\u001b[90m┌').and.to.contain('\u001b[31m id ');
    expect(text).to.contain('x\\u001b[2Jy').and.to.contain('c\\u000ad').and.not.to.contain('\u001b[2J');
  });

  it('--json prints each batch as the server sent it, one per line', async () => {
    const lines: string[] = [];
    expect(await runBatchesList(client, { json: true, all: true }, (l) => lines.push(l), false)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l))).to.deep.equal([pending, anchored]);
  });

  it('one page without --all, saying how to get the next', async () => {
    const lines: string[] = [];
    expect(await runBatchesList(client, { limit: 1 }, (l) => lines.push(l), false)).to.equal(0);
    expect(asked).to.deep.equal([['list', { limit: 1, cursor: undefined }]]);
    expect(lines.at(-1)).to.equal('1 batch(es), newest first; more with --cursor c1');
  });

  it('a refusal exits 1 naming its code', async () => {
    const refused = {
      batches: {
        list: async () => Promise.reject(new ForbiddenApiError({ type: 'about:blank', title: 'Forbidden', status: 403, code: 'FORBIDDEN', detail: 'no proofs:read' })),
      },
    } as unknown as OpenMcpClient;
    const lines: string[] = [];
    expect(await runBatchesList(refused, {}, (l) => lines.push(l), false)).to.equal(1);
    expect(lines.join('\n')).to.contain('FORBIDDEN');
  });
});
