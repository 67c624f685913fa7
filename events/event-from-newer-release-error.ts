import { OpenMcpError } from '../src/core/errors';

/** Seconds a client is asked to wait before retrying: about one process's drain in a rolling restart. */
export const NEWER_RELEASE_RETRY_AFTER_SECONDS = 5;

/**
 * An event read from the log that this release cannot read as what it means: a version of its
 * type above the latest this release registers, or a type it does not know at all. A process of a
 * newer release wrote it (a rolling upgrade, or a rollback). Read as the version this release
 * knows, its new meaning would be ignored (InferenceCompleted v6 read as v5: a paid turn never
 * booked), so code that decides or acts on a stream stops instead of deciding on a misread
 * history; nothing is appended. 503 with Retry-After: the request is sound, this process is too
 * old for the stream; a process of the newer release (or this one, once upgraded) handles it.
 * @example if (catalog.isFromNewerRelease(e)) throw new EventFromNewerReleaseError(e, catalog.has(e.type) ? catalog.latestVersion(e.type) : undefined)
 */
export class EventFromNewerReleaseError extends OpenMcpError {
  constructor(
    readonly event: { id: string; type: string; version: number; stream: string },
    /** The latest version of the type this release reads; undefined for a type it does not know. */
    readonly latestVersion: number | undefined,
  ) {
    const known = latestVersion === undefined ? 'a type this release does not know' : `newer than this release reads (up to v${latestVersion})`;
    super(
      'EVENT_FROM_NEWER_RELEASE',
      `stream ${event.stream} holds ${event.type} v${event.version} (event ${event.id}), ${known}: a process of a newer release wrote it, and this process does not act on a stream it cannot fully read; nothing was recorded. Retry: a process of that release answers (upgrade this one)`,
      {
        status: 503,
        details: {
          stream: event.stream,
          eventId: event.id,
          type: event.type,
          version: event.version,
          ...(latestVersion !== undefined ? { latestVersion } : {}),
          retryAfterSeconds: NEWER_RELEASE_RETRY_AFTER_SECONDS,
        },
      },
    );
  }
}
