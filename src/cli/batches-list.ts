import type { OpenMcpClient } from '../sdk/client';
import { printable, printableJson } from './printable';
import { cliTable } from './table';
import { reportCliError, stdout, type Writer } from './tasks';

export type BatchesListOptions = { limit?: number; cursor?: string; all?: boolean; json?: boolean };

/**
 * `openmcp batches list [--limit N] [--cursor C] [--all] [--json]`: the sealed batches (GET
 * /v1/batches), newest first, each with its seqs, root, signer and anchor, or that it is not
 * anchored yet: the ids for `batches export` and `verify-batch`. The gateway's account of them;
 * examples/list-anchors.ts lists what the chain holds. Returns the exit code.
 * @example await runBatchesList(client, { all: true }) // 0, a table
 */
export async function runBatchesList(client: OpenMcpClient, o: BatchesListOptions = {}, out: Writer = stdout, color?: boolean): Promise<number> {
  try {
    const query = { limit: o.limit, cursor: o.cursor };
    const items = [];
    let next: string | undefined;
    if (o.all) {
      for await (const b of client.batches.all(query)) items.push(b);
    } else {
      const page = await client.batches.list(query);
      items.push(...page.items);
      next = page.nextCursor;
    }
    if (o.json) {
      for (const b of items) out(printableJson(b));
      return 0;
    }
    const table = cliTable({ head: ['id', 'seqs', 'events', 'root', 'signer', 'anchor'] }, color);
    for (const b of items) {
      const a = b.anchor;
      const anchor = a ? `chain ${a.chainId}, ${a.contract}, block ${a.blockNumber}, tx ${a.txHash}` : 'not anchored yet';
      // The server's text, each cell without control characters; not the table's lines, whose colours on a terminal are the CLI's own.
      table.push([String(b.id), `${b.firstSeq}..${b.lastSeq}`, String(b.size), b.root, b.signer, anchor].map(printable));
    }
    out(table.toString());
    out(`${items.length} batch(es), newest first${next ? `; more with --cursor ${next}` : ''}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
