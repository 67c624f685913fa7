import type { Knex } from 'knex';
import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import { runPeriodically } from '../core/periodic';
import { ifLockFree } from '../db/named-lock';
import { repairSubjectIndex, unindexedByTenant } from '../readmodels/subject-index-repair';

export const UNINDEXED_METRIC = 'openmcp_subject_index_unindexed_events';

/** The named lock (MySQL) one projector process fills under at a time. */
export const FILL_LOCK = 'subject-index-repair';

export type SubjectIndexRepairOptions = {
  registry?: Registry;
  /** Between runs; the first runs at once (the start after an upgrade or a rollback). Default 60 s. */
  intervalMs?: number;
  /** After a run that found rows to fill: how many it found, and how many it filled. */
  onFilled?: (run: { found: number; filled: number }) => void;
  /**
   * A run that found rows to fill but left them to another projector process filling them now
   * (MySQL: one fill at a time, by a named lock): how many it found, which the gauge shows.
   */
  onSkipped?: (run: { found: number }) => void;
  /** A run that failed (the database away): the next run tries again, from what is still empty. */
  onError?: (err: unknown) => void;
};

/**
 * In a projector process: fill, at its start and then every `intervalMs`, the audit rows a
 * projector of a release before the subject index applied (a rolling upgrade, a rollback and a
 * new upgrade), which lack their actor and their subject index rows, so that no subject's export
 * misses those events for longer than that (repairSubjectIndex); and say in
 * `openmcp_subject_index_unindexed_events` how many are left (each run sets it to what it found,
 * then, slice by slice, to what it has not filled yet: 0 once filled, what is left when the fill
 * failed; NaN after a run that could not count them). On MySQL one process fills at a time (a
 * named lock, ifLockFree): the others' runs count, set the gauge to what they found and leave the
 * fill to it, rather than each reading the same rows again (the fill is safe twice at once: the
 * lock only saves the repeat). A run costs a seek per tenant and a count per 500 tenants when
 * there are none (unindexedByTenant), and the fill reads only the tenants it found; nothing on
 * the projector's path. `stop` ends a run between slices and waits for it.
 * @example const sweep = startSubjectIndexRepair(knex, { registry, onFilled: (r) => log.warn(r) }); … await sweep.stop();
 */
export function startSubjectIndexRepair(knex: Knex, o: SubjectIndexRepairOptions = {}): { stop(): Promise<void> } {
  const registry = o.registry ?? defaultRegistry;
  if (registry.getSingleMetric(UNINDEXED_METRIC)) registry.removeSingleMetric(UNINDEXED_METRIC);
  const gauge = new Gauge({
    name: UNINDEXED_METRIC,
    help: "Audit rows without their actor and subject index rows as this projector's last check (at its start, then every minute) left them: events a projector of a release before 2026-12-11 applied (a rolling upgrade, a rollback), which the check fills (one projector process at a time: it counts down slice by slice; the others show what they found at their last check), so 0 but while it runs; until filled a subject's export (GET /v1/subjects/:subject/events) holds its pages before the first of them. Above 0 and not going down: the check cannot fill them (the projector's log says why; a fill that fails leaves what is left). NaN when the check could not count them (the database away).",
    registers: [registry],
  });
  let stopping = false;
  const periodic = runPeriodically(async () => {
    let found: number | undefined;
    try {
      const byTenant = await unindexedByTenant(knex);
      found = [...byTenant.values()].reduce((a, b) => a + b, 0);
      gauge.set(found);
      if (!found) return;
      const total = found;
      const left = (filled: number) => gauge.set(Math.max(0, total - filled));
      const fill = await ifLockFree(knex, FILL_LOCK, () => repairSubjectIndex(knex, { stopped: () => stopping, tenants: byTenant.keys(), onProgress: left }));
      if (!fill.ran) return o.onSkipped?.({ found });
      left(fill.value);
      o.onFilled?.({ found, filled: fill.value });
    } catch (err) {
      // Counted but not filled (a row it cannot read, a deadlock): what is left stays shown, so a
      // fill that keeps failing (the same count each run) fires OpenMcpSubjectIndexUnfilled; NaN only when not counted.
      if (found === undefined) gauge.set(NaN);
      o.onError?.(err);
    }
  }, o.intervalMs ?? 60_000);
  return {
    async stop() {
      stopping = true;
      await periodic.stop();
    },
  };
}
