export { KurrentEventStore, openKurrentEventStore } from './KurrentEventStore';
export { KurrentDbError } from './errors';
