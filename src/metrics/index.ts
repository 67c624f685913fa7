export * from './metrics';
export * from './instrument-store';
export * from './scrape-budget';
export * from './scrape-reader';
export * from './error-code';
export * from './log-lines-dropped';
