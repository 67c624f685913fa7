export { InProcessBus, busCheckpointName, type InProcessBusOptions } from './inprocess-bus';
export { readBatches, type ReadBatchesParameters } from './read-batches';
