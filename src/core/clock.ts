/** Where time comes from, so tests can fix it. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export function fixedClock(iso: string): Clock {
  const d = new Date(iso);
  return () => new Date(d.getTime());
}
