import type { z } from 'zod';
import type { AuditEventView } from '../api/schemas/events';
import { sealedKids } from '../../projections/subject-events.projection';
import { parseSubject } from '../erasure/subject';
import type { OpenMcpClient } from './client';
import { pages } from './pages';
import { patiently } from './patiently';

/**
 * The subject's events found by reading the whole log the key sees, page by page (GET /v1/events),
 * and keeping those GET /v1/subjects/:subject/events lists: of its tenant, its actor's, its API
 * key's stream, sealed under one of `kids`, and `subject-<kid>`. How exportSubject gathered them
 * before the server had a subject index; kept for a server without it (before 2026-12-11), and
 * as the baseline of bench/subject-export.bench.ts. Minutes to hours on a large log.
 * @example for await (const e of scanLogForSubject(client, 'acme:user:0193…', ['0193…'], sleep)) events.push(e);
 */
export async function* scanLogForSubject(
  client: OpenMcpClient,
  subject: string,
  kids: ReadonlySet<string>,
  sleep: (ms: number) => Promise<void>,
): AsyncGenerator<z.infer<typeof AuditEventView>, void, undefined> {
  const { tenant, actor } = parseSubject(subject);
  const own = `apikey-${actor.id}`;
  // Paged here, not with events.all: a page refused 429 is asked again, not the walk started over or dropped.
  const log = pages(() => patiently(() => client.events.list({ limit: 1000 }), sleep), (cursor) => patiently(() => client.events.list({ limit: 1000, cursor }), sleep));
  for await (const e of log) {
    if (e.tenant !== tenant) continue;
    const mine =
      (e.actor.kind === actor.kind && e.actor.id === actor.id) ||
      e.stream === own ||
      (e.stream.startsWith('subject-') && kids.has(e.stream.slice('subject-'.length))) ||
      sealedKids(e).some((k) => kids.has(k));
    if (mine) yield e;
  }
}
