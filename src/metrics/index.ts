export * from './metrics';
export * from './instrument-store';
export * from './scrape-reader';
