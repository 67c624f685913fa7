import type { OpenMcpClient } from '../sdk/client';
import { reportCliError, stdout, type Writer } from './tasks';

/**
 * `openmcp subjects erase <subject>`: delete the data key of a subject (`<tenant>:<kind>:<actor id>`),
 * so its payloads recorded under MCP_PAYLOAD_POLICY=encrypted can no longer be read (docs/security.md,
 * "Erasure"). Needs an admin key of the subject's tenant, or a cross-tenant one. Idempotent.
 */
export async function runSubjectsErase(client: OpenMcpClient, subject: string, out: Writer = stdout): Promise<number> {
  try {
    await client.subjects.erase(subject);
    out(`erased the key of ${subject}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
