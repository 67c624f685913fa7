export * from './hasher';
export * from './leaf';
export * from './tree';
export * from './inclusion';
export * from './errors';
