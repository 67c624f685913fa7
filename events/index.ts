import { EventCatalog } from './catalog';
import { taskEvents } from './task.events';
import { mcpEvents } from './mcp.events';
import { authEvents } from './auth.events';
import { proofEvents } from './proofs.events';

export * from './catalog';
export * from './task.events';
export * from './mcp.events';
export * from './auth.events';
export * from './proofs.events';

/** Every event type the product writes. Later contexts register theirs here. */
export const catalog = new EventCatalog().register(...taskEvents).register(...mcpEvents).register(...authEvents).register(...proofEvents);
