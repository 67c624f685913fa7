export * from './metrics';
export * from './instrument-store';
