export * from './lease-store';
export * from './sql-lease-store';
export * from './cache-lease-store';
export * from './leadership';
export * from './fenced-event-store';
export * from './fenced-checkpoints';
export * from './assert-token';
export * from './errors';
