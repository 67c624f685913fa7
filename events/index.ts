import { EventCatalog } from './catalog';
import { taskEvents } from './task.events';

export * from './catalog';
export * from './task.events';

/** Every event type the product writes. Later contexts register theirs here. */
export const catalog = new EventCatalog().register(...taskEvents);
