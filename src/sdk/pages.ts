/** One page of a REST list: `nextCursor` is absent on the last page. */
export type Page<T> = { items: T[]; nextCursor?: string };

/**
 * Every item of a cursor-paginated list, page after page: `first()` fetches the first page,
 * `next(cursor)` the one after it, with the previous page's `nextCursor` passed back unchanged.
 * Stops after a page without `nextCursor`. Pages are fetched one at a time as the caller iterates,
 * so leaving the loop early (break, return, a throw) fetches no more. Items added to the list
 * while it is walked are seen or not according to the list's order (docs/architecture.md, "Lists
 * and cursors"), never twice: a cursor is a key, not an offset.
 * @example
 * for await (const e of pages(() => client.events.list(q), (cursor) => client.events.list({ ...q, after: undefined, cursor }))) console.log(e.position);
 */
export async function* pages<T>(first: () => Promise<Page<T>>, next: (cursor: string) => Promise<Page<T>>): AsyncGenerator<T, void, undefined> {
  let page = await first();
  for (;;) {
    yield* page.items;
    if (!page.nextCursor) return;
    page = await next(page.nextCursor);
  }
}
