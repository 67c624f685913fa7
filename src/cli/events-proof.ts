import type { OpenMcpClient } from '../sdk/client';
import { ConflictApiError, NotFoundApiError } from '../sdk/errors';
import { WAITS_FOR_ANOTHER_EVENT } from '../proofs/errors';
import { printable } from './printable';
import { rawStdout, saveAnswer, VERIFY_PINS } from './save-answer';
import { reportCliError, stdout, type Writer } from './tasks';

/** What to do about the API's refusals of a proof, for the line under `error CODE: …`. */
function hintFor(err: unknown, eventId: string): string | undefined {
  if (err instanceof ConflictApiError && err.code === 'PROOF_PENDING') {
    const seconds = `${err.retryAfterSeconds ?? 'a few'} s`;
    // No number of seconds seals a batch of bookkeeping alone (the detail says so): another event does.
    if (err.message.includes(WAITS_FOR_ANOTHER_EVENT)) {
      return `(the event's batch is sealed only once another event is recorded (a task, a tool call, a key issued): ask again after one is, ${seconds} or more after it)`;
    }
    return `(the event's batch is ${err.message.endsWith('not sealed yet') ? 'not sealed' : 'not anchored'} yet: try again in ${seconds})`;
  }
  if (err instanceof NotFoundApiError && err.code === 'NOT_FOUND') {
    return `(no event ${printable(eventId)} in the key's tenant: the ids are in \`openmcp events tail --json\`)`;
  }
  return undefined;
}

/**
 * `openmcp events proof <event-id> [--out FILE]`: the event's proof file (GET /v1/events/:id/proof)
 * exactly as the server wrote it, into FILE (created or replaced only once the proof came: never
 * with an error answer) or onto stdout, for `openmcp verify`. The API's refusals exit 1 naming their
 * code: PROOF_PENDING (with the seconds to wait), NOT_FOUND. Returns the exit code.
 * @example await runEventsProof(client, id, { out: 'proof.json' }) // 0, and proof.json written
 */
export async function runEventsProof(client: OpenMcpClient, eventId: string, o: { out?: string } = {}, out: Writer = stdout, raw: (text: string) => void = rawStdout): Promise<number> {
  let got: Awaited<ReturnType<OpenMcpClient['events']['proofFile']>>;
  try {
    got = await client.events.proofFile(eventId);
  } catch (err) {
    return reportCliError(err, out, hintFor(err, eventId));
  }
  const failed = await saveAnswer(got.text, o.out, raw);
  if (failed) return reportCliError(new Error(failed), out);
  const { batch, anchor } = got.proof;
  if (o.out !== undefined) out(printable(`proof of event ${eventId} (batch ${batch.id}, anchored on chain ${anchor.chainId} in block ${anchor.blockNumber}) written to ${o.out}; check it with: openmcp verify ${o.out} --rpc URL --event ${eventId} ${VERIFY_PINS}`));
  return 0;
}
