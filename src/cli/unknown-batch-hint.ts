/** What to do about a batch the gateway answers NOT_FOUND for (`batches export`, `verify-batch` without `--file`): it is not sealed yet, or there is no such id. */
export function unknownBatchHint(batchId: number): string {
  return `no batch ${batchId} is sealed: \`openmcp batches list\` (GET /v1/batches) lists the sealed batches, and an event in GET /v1/events names its batchId once its batch is sealed`;
}
