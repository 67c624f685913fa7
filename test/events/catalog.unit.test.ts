import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { catalog, defineEvent, EventCatalog, EventFromNewerReleaseError } from '../../events';
import { exportSchemas, renderEventsDoc } from '../../events/export-schemas';
import { createEvent, RecordedEventSchema } from '../../src/core/envelope';
import { ValidationError } from '../../src/core/errors';
import { isUuidV7 } from '../../src/core/ids';

describe('event catalog', () => {
  it('registers the task lifecycle', () => {
    for (const t of ['TaskSubmitted', 'TaskStarted', 'TaskCompleted', 'TaskFailed', 'TaskCancelled']) expect(catalog.has(t, 1), t).to.equal(true);
  });

  it('validates data and names the failing field', () => {
    expect(() => catalog.validate('TaskSubmitted', 1, { steps: [{ tool: 5 }] })).to.throw(ValidationError, /data\.steps\.0\.tool/);
    expect(() => catalog.validate('TaskSubmitted', 1, { instruction: 'x', extra: 1 })).to.throw(ValidationError, /extra|Unrecognized/);
    expect(() => catalog.validate('NoSuchEvent', 1, {})).to.throw(ValidationError, /unknown event type/);
  });

  it('upcasts an old version to the latest, leaving the stored hash untouched', () => {
    const c = new EventCatalog()
      .register(
        defineEvent('ThingHappened', 1, z.object({ name: z.string() }), 'v1'),
        defineEvent('ThingHappened', 2, z.object({ firstName: z.string(), lastName: z.string() }), 'v2'),
      )
      .addUpcaster({
        type: 'ThingHappened',
        fromVersion: 1,
        upcast: (d) => {
          const [firstName, ...rest] = String(d.name).split(' ');
          return { firstName, lastName: rest.join(' ') };
        },
      });
    const old = createEvent({ type: 'ThingHappened', version: 1, stream: 'thing-1', tenant: 't', actor: { kind: 'system', id: 's' }, data: { name: 'Ada Lovelace' } });
    const up = c.upcast(old);
    expect(up.version).to.equal(2);
    expect(up.data).to.deep.equal({ firstName: 'Ada', lastName: 'Lovelace' });
    expect(up.hash).to.equal(old.hash);
    expect(c.validate('ThingHappened', 2, up.data)).to.deep.equal(up.data);
  });

  it('refuses to upcast an event of a newer release (a version above its latest, or a type it does not know), and says which', () => {
    const newer = createEvent({ type: 'InferenceCompleted', version: 99, stream: 'task-1', tenant: 't', actor: { kind: 'agent', id: 'a' }, data: { turn: 0, usageUnbooked: true } });
    const unknown = createEvent({ type: 'TaskPaused', version: 1, stream: 'task-1', tenant: 't', actor: { kind: 'agent', id: 'a' }, data: {} });
    expect(catalog.isFromNewerRelease(newer)).to.equal(true);
    expect(catalog.isFromNewerRelease(unknown)).to.equal(true);
    expect(catalog.isFromNewerRelease({ type: 'InferenceCompleted', version: catalog.latestVersion('InferenceCompleted') })).to.equal(false);
    expect(catalog.isFromNewerRelease({ type: 'InferenceCompleted', version: 1 })).to.equal(false);
    let err: unknown;
    try {
      catalog.upcast(newer);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(EventFromNewerReleaseError);
    const e = err as EventFromNewerReleaseError;
    expect(e.code).to.equal('EVENT_FROM_NEWER_RELEASE');
    expect(e.status).to.equal(503);
    expect(e.message).to.match(/InferenceCompleted v99/).and.match(new RegExp(`v${catalog.latestVersion('InferenceCompleted')}`));
    expect(e.details).to.include({ stream: 'task-1', eventId: newer.id, type: 'InferenceCompleted', version: 99, latestVersion: catalog.latestVersion('InferenceCompleted') });
    expect(() => catalog.upcast(unknown)).to.throw(EventFromNewerReleaseError, /TaskPaused v1/);
  });

  it('refuses to register the same type and version twice', () => {
    const d = defineEvent('X1', 1, z.object({}), 'x');
    expect(() => new EventCatalog().register(d, d)).to.throw(/twice/);
  });

  it('creates events with UUIDv7 ids that pass the envelope schema', () => {
    const e = createEvent({ type: 'TaskStarted', stream: 'task-1', tenant: 't', actor: { kind: 'agent', id: 'a' }, data: {} });
    expect(isUuidV7(e.id)).to.equal(true);
    expect(RecordedEventSchema.safeParse({ ...e, revision: 0, position: 0 }).success).to.equal(true);
    expect(RecordedEventSchema.safeParse({ ...e, revision: 0, position: 0, hash: 'nothex' }).success).to.equal(false);
  });

  it('has committed JSON Schemas in events/schema that match the catalog (run npm run events:schema)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-schema-'));
    try {
      const files = exportSchemas(dir);
      const committed = readdirSync(join(__dirname, '../../events/schema')).filter((f) => f.endsWith('.json')).sort();
      expect(committed).to.deep.equal([...files].sort());
      for (const f of files) {
        expect(readFileSync(join(dir, f), 'utf8'), f).to.equal(readFileSync(join(__dirname, '../../events/schema', f), 'utf8'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readFileSync(join(__dirname, '../../docs/events.md'), 'utf8'), 'docs/events.md').to.equal(renderEventsDoc());
  });
  it('every digest field (`…Hash`) in the JSON Schemas says what it is the hash of, so a consumer in another language can recompute it', () => {
    const undescribed: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (!node || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === 'properties' && v && typeof v === 'object') {
          for (const [name, prop] of Object.entries(v as Record<string, { description?: string }>)) {
            if (name.endsWith('Hash') && !prop.description) undescribed.push(`${where}.${name}`);
          }
        }
        walk(v, `${where}.${k}`);
      }
    };
    const dir = join(__dirname, '../../events/schema');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) walk(JSON.parse(readFileSync(join(dir, f), 'utf8')), f);
    expect(undescribed).to.deep.equal([]);
  });

  it('docs/consumers.md tells consumers of every version after the first (what it adds, how to read it as the last)', () => {
    const consumers = readFileSync(join(__dirname, '../../docs/consumers.md'), 'utf8');
    const later = catalog.definitions().filter((d) => d.version > 1).map((d) => `\`${d.type}\` v${d.version}`);
    expect(later.filter((v) => !consumers.includes(v)), 'versions missing from docs/consumers.md').to.deep.equal([]);
  });
});
