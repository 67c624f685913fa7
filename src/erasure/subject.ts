import type { Actor } from '../core/envelope';
import { ValidationError } from '../core/errors';

const KINDS = new Set<Actor['kind']>(['user', 'agent', 'system']);

/**
 * The data subject whose payloads share one data key (MCP_PAYLOAD_POLICY=encrypted):
 * `<tenant>:<actor kind>:<actor id>`, the actor as the event envelope names it (an API key's id,
 * or a JWT's `sub`). The tenant holds no `:`; the actor id is everything after the second `:`.
 * @example subjectOf('acme', { kind: 'user', id: '0193…' }) // 'acme:user:0193…'
 */
export function subjectOf(tenant: string, actor: Actor): string {
  return `${tenant}:${actor.kind}:${actor.id}`;
}

/**
 * Parse a subject id given by a person (`DELETE /v1/subjects/:subject/key`, `openmcp subjects
 * erase`). Throws VALIDATION_FAILED naming `field` for anything subjectOf could not have made.
 */
export function parseSubject(subject: string, field = 'subject'): { tenant: string; actor: Actor } {
  const m = /^([^:\s]{1,100}):([a-z]+):(.{1,200})$/s.exec(subject);
  if (!m || !KINDS.has(m[2] as Actor['kind']) || /[\x00-\x1f\x7f]/.test(m[3])) {
    throw new ValidationError(`${field}: a subject id is <tenant>:<user|agent|system>:<actor id> (e.g. acme:user:0193…), got ${JSON.stringify(subject.slice(0, 100))}`, { field });
  }
  return { tenant: m[1], actor: { kind: m[2] as Actor['kind'], id: m[3] } };
}
