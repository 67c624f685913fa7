import { z } from 'zod';
import { ValidationError } from '../src/core/errors';
import type { EventContent } from '../src/core/envelope';
import { EventFromNewerReleaseError } from './event-from-newer-release-error';

export { EventFromNewerReleaseError, NEWER_RELEASE_RETRY_AFTER_SECONDS } from './event-from-newer-release-error';

/** One version of one event type: its zod schema for `data`, and what it means. */
export type EventDefinition<TType extends string = string, TSchema extends z.ZodType = z.ZodType> = {
  type: TType;
  version: number;
  schema: TSchema;
  description: string;
};

/** Turns `data` of `type` at `fromVersion` into the shape of `fromVersion + 1`. */
export type Upcaster = {
  type: string;
  fromVersion: number;
  upcast(data: Record<string, unknown>): Record<string, unknown>;
};

export function defineEvent<TType extends string, TSchema extends z.ZodType>(
  type: TType,
  version: number,
  schema: TSchema,
  description: string,
): EventDefinition<TType, TSchema> {
  return { type, version, schema, description };
}

/**
 * The registry of every event type and version the product writes or reads.
 * Old versions stay registered (they are in the log forever); readers see the latest
 * version through upcasters, while proofs always use the stored form. An event this registry
 * does not know (a newer version, a new type) was written by a newer release: `upcast` refuses
 * it, and each reader decides whether to stop, skip it or pass it on (`isFromNewerRelease`;
 * docs/operations.md, "Events of a newer release").
 */
export class EventCatalog {
  private readonly defs = new Map<string, Map<number, EventDefinition>>();
  private readonly upcasters = new Map<string, Upcaster>();

  register(...defs: EventDefinition[]): this {
    for (const d of defs) {
      const versions = this.defs.get(d.type) ?? new Map<number, EventDefinition>();
      if (versions.has(d.version)) throw new Error(`event ${d.type} v${d.version} registered twice`);
      versions.set(d.version, d);
      this.defs.set(d.type, versions);
    }
    return this;
  }

  addUpcaster(u: Upcaster): this {
    this.upcasters.set(`${u.type}@${u.fromVersion}`, u);
    return this;
  }

  definitions(): EventDefinition[] {
    return [...this.defs.values()].flatMap((m) => [...m.values()]);
  }

  latestVersion(type: string): number {
    const versions = this.defs.get(type);
    if (!versions) throw new ValidationError(`unknown event type ${type}`, { field: 'type' });
    return Math.max(...versions.keys());
  }

  has(type: string, version?: number): boolean {
    const versions = this.defs.get(type);
    return !!versions && (version === undefined || versions.has(version));
  }

  /** Validate `data` against the schema of its type and version; returns the parsed data. */
  validate(type: string, version: number, data: unknown): Record<string, unknown> {
    const def = this.defs.get(type)?.get(version);
    if (!def) throw new ValidationError(`unknown event type ${type} v${version}`, { field: 'type' });
    const parsed = def.schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = ['data', ...(issue?.path ?? [])].join('.');
      throw new ValidationError(`${type} v${version}: ${field}: ${issue?.message ?? 'invalid'}`, { field });
    }
    return parsed.data as Record<string, unknown>;
  }

  /**
   * Whether `event` was written by a newer release than this one: its version is above the latest
   * of its type registered here, or its type is not registered at all. Such an event cannot be
   * read as what it means (upcast refuses it). Pure; looks at `type` and `version` only.
   * @example if (catalog.isFromNewerRelease(e)) return skip(e)
   */
  isFromNewerRelease(event: Pick<EventContent, 'type' | 'version'>): boolean {
    const versions = this.defs.get(event.type);
    return !versions || event.version > Math.max(...versions.keys());
  }

  /**
   * Bring an event read from the log to the latest version of its type (pure; hash untouched).
   * Throws EventFromNewerReleaseError (EVENT_FROM_NEWER_RELEASE, 503) for an event of a newer
   * release (isFromNewerRelease) rather than hand it on as the version this release knows:
   * whoever folds it to decide must not misread it. Readers that may pass such an event on
   * check isFromNewerRelease first.
   */
  upcast<E extends EventContent>(event: E): E {
    if (this.isFromNewerRelease(event)) throw new EventFromNewerReleaseError(event, this.has(event.type) ? this.latestVersion(event.type) : undefined);
    let current = event;
    const latest = this.latestVersion(event.type);
    while (current.version < latest) {
      const u = this.upcasters.get(`${current.type}@${current.version}`);
      if (!u) throw new Error(`no upcaster for ${current.type} v${current.version}`);
      current = { ...current, version: current.version + 1, data: u.upcast(current.data as Record<string, unknown>) };
    }
    return current;
  }
}
