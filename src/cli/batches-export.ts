import type { OpenMcpClient } from '../sdk/client';
import { ForbiddenApiError, NotFoundApiError } from '../sdk/errors';
import { printable } from './printable';
import { rawStdout, saveAnswer, VERIFY_PINS } from './save-answer';
import { unknownBatchHint } from './unknown-batch-hint';
import { reportCliError, stdout, type Writer } from './tasks';

/**
 * `openmcp batches export <id> [--out FILE]`: the batch's export (GET /v1/batches/:id/events,
 * `{batch, events}`) exactly as the server wrote it, into FILE (only once it came: never an error
 * answer) or onto stdout, for `openmcp verify-batch`. It holds every tenant's events, so it takes a
 * cross-tenant key (FORBIDDEN otherwise); an unknown batch is NOT_FOUND. Returns the exit code.
 * @example await runBatchesExport(client, 17, { out: 'batch.json' }) // 0, and batch.json written
 */
export async function runBatchesExport(client: OpenMcpClient, batchId: number, o: { out?: string } = {}, out: Writer = stdout, raw: (text: string) => void = rawStdout): Promise<number> {
  let got: Awaited<ReturnType<OpenMcpClient['batches']['exportFile']>>;
  try {
    got = await client.batches.exportFile(batchId);
  } catch (err) {
    const hint = err instanceof ForbiddenApiError
      ? '(the export holds every tenant\'s events: use a cross-tenant key, such as the bootstrap admin\'s)'
      : err instanceof NotFoundApiError && err.code === 'NOT_FOUND' ? `(${unknownBatchHint(batchId)})` : undefined;
    return reportCliError(err, out, hint);
  }
  const failed = await saveAnswer(got.text, o.out, raw);
  if (failed) return reportCliError(new Error(failed), out);
  if (o.out !== undefined) out(printable(`batch ${batchId} (${got.export.events.length} events) written to ${o.out}; check it with: openmcp verify-batch ${batchId} --file ${o.out} --rpc URL ${VERIFY_PINS}`));
  return 0;
}
