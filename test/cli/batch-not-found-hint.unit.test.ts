import { expect } from 'chai';
import { runBatchesExport } from '../../src/cli/batches-export';
import { runVerifyBatch } from '../../src/cli/verify-batch';
import type { OpenMcpClient } from '../../src/sdk/client';
import { NotFoundApiError } from '../../src/sdk/errors';

/**
 * An auditor asking for a batch that is not sealed (yet) got `NOT_FOUND: batch 9 not found` and no
 * word of which batches there are, nor where an event's batch is named: each says it now.
 */
describe('openmcp batches export / verify-batch: an unknown batch says where the sealed ones are listed', () => {
  const notFound = new NotFoundApiError({ type: 'https://openmcp.dev/errors#not_found', title: 'Not Found', status: 404, code: 'NOT_FOUND', detail: 'batch 9 not found' });
  const client = {
    options: { baseUrl: 'http://127.0.0.1:8080' },
    batches: { exportFile: async () => Promise.reject(notFound) },
  } as unknown as OpenMcpClient;
  const HINT = 'no batch 9 is sealed: `openmcp batches list` (GET /v1/batches) lists the sealed batches, and an event in GET /v1/events names its batchId once its batch is sealed';

  it('batches export', async () => {
    const lines: string[] = [];
    expect(await runBatchesExport(client, 9, { out: '/nonexistent/never-written.json' }, (l) => lines.push(l))).to.equal(1);
    expect(lines.join('\n')).to.contain(`(${HINT})`);
  });

  it('verify-batch without --file', async () => {
    const lines: string[] = [];
    expect(await runVerifyBatch({ batchId: 9, client, rpc: 'http://127.0.0.1:1', out: (l) => lines.push(l) })).to.equal(2);
    expect(lines).to.deep.equal([`FAILED: cannot fetch the export of batch 9 from http://127.0.0.1:8080: NOT_FOUND: batch 9 not found; ${HINT}`]);
  });
});
