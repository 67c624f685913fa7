export * from './policy';
export * from './proposal';
export * from './resolve-policy';
export * from './evaluate-policy';
export * from './load-policy';
export * from './spend-ledger';
