import { writeFile } from 'node:fs/promises';
import type { OpenMcpClient } from '../sdk/client';
import { exportSubject } from '../sdk/subject-export';
import { printable, printableJson } from './printable';
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

/**
 * `openmcp subjects show <subject> [--json]`: the subject's data keys, oldest first, each with when
 * it was made, when erased and the SubjectKeyErased event that records the erasure, whose proof
 * `openmcp events proof <id>` saves: the record of an erasure request (docs/security.md, "Personal data").
 */
export async function runSubjectsShow(client: OpenMcpClient, subject: string, o: { json?: boolean }, out: Writer = stdout): Promise<number> {
  try {
    const record = await client.subjects.show(subject);
    if (o.json) {
      out(printableJson(record));
      return 0;
    }
    out(`subject ${printable(record.subject)}`);
    for (const k of record.keys) {
      const state = !k.erasedAt
        ? 'live'
        : k.erasure
          ? `erased ${k.erasedAt}, recorded by SubjectKeyErased ${k.erasure.eventId} (its proof: openmcp events proof ${k.erasure.eventId})`
          : `erased ${k.erasedAt}, not recorded yet: run openmcp subjects erase again`;
      out(`key ${k.kid}: made ${k.createdAt}, ${state}`);
    }
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/**
 * `openmcp subjects export <subject> [--out FILE]`: what the gateway shows about a subject, for an
 * access request (exportSubject: its keys, the events about it, its tasks and tool calls opened while
 * its key lives), as JSON into FILE (mode 0600: it holds the subject's personal data) or onto stdout.
 * @example await runSubjectsExport(client, 'acme:user:0193…', { out: 'alice.json' }) // 0
 */
export async function runSubjectsExport(client: OpenMcpClient, subject: string, o: { out?: string }, out: Writer = stdout): Promise<number> {
  try {
    const x = await exportSubject(client, subject);
    const text = printableJson(x, 2);
    if (o.out === undefined) {
      out(text);
      return 0;
    }
    await writeFile(o.out, `${text}\n`, { mode: 0o600 }).catch((err: unknown) => {
      throw new Error(`cannot write ${o.out}: ${(err as Error).message}`);
    });
    out(printable(`subject ${subject}: ${x.events.length} events, ${x.tasks.length} tasks, ${x.toolCalls.length} tool calls written to ${o.out}`));
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
