import { EventCatalog } from './catalog';
import { taskEvents, taskUpcasters } from './task.events';
import { mcpEvents, mcpUpcasters } from './mcp.events';
import { authEvents, authUpcasters } from './auth.events';
import { proofEvents } from './proofs.events';
import { agentEvents, agentUpcasters } from './agent.events';
import { erasureEvents, erasureUpcasters } from './erasure.events';
import { toolCallStepEvents, toolCallStepUpcasters } from './tool-call-step.events';

export * from './catalog';
export * from './task.events';
export * from './mcp.events';
export * from './auth.events';
export * from './proofs.events';
export * from './agent.events';
export * from './erasure.events';
export * from './tool-call-step.events';

/** Every event type the product writes. Later contexts register theirs here. */
export const catalog = new EventCatalog().register(...taskEvents).register(...mcpEvents).register(...authEvents).register(...proofEvents).register(...agentEvents).register(...erasureEvents).register(...toolCallStepEvents);
for (const u of [...taskUpcasters, ...mcpUpcasters, ...agentUpcasters, ...authUpcasters, ...erasureUpcasters, ...toolCallStepUpcasters]) catalog.addUpcaster(u);
