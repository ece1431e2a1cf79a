import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process; `/metrics` serves it. */
export const registry = new Registry();

let collecting = false;
/**
 * Adds the Node process's own metrics (CPU, memory, event loop). Called by the Node runtime, not
 * at import: the Workers runtime has no process.cpuUsage, and the edge entry imports this module.
 */
export function collectProcessMetrics(): void {
  if (collecting) return;
  collecting = true;
  collectDefaultMetrics({ register: registry, prefix: 'phananh_' });
}

export const metrics = {
  inbound: new Counter({ name: 'phananh_inbound_total', help: 'Inbound messages by channel and result (stored, replayed, rejected)', labelNames: ['channel', 'result'], registers: [registry] }),
  jobs: new Counter({ name: 'phananh_jobs_total', help: 'Jobs finished by kind and result', labelNames: ['kind', 'result'], registers: [registry] }),
  jobSeconds: new Histogram({ name: 'phananh_job_duration_seconds', help: 'Run time of a job, or of a batch of jobs run together', labelNames: ['kind'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
  jobBatchSize: new Histogram({ name: 'phananh_job_batch_size', help: 'Jobs per run (1 for kinds that are not batched)', labelNames: ['kind'], buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [registry] }),
  http: new Histogram({ name: 'phananh_http_request_duration_seconds', help: 'HTTP request duration by route and status', labelNames: ['method', 'route', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
  spoolDepth: new Gauge({ name: 'phananh_spool_depth', help: 'Inbound messages acknowledged from the local spool and not yet stored in the database', registers: [registry] }),
  spoolPoisoned: new Counter({ name: 'phananh_spool_poisoned_total', help: 'Spooled messages the database refused for themselves, set aside in spool/poison.jsonl', registers: [registry] }),
  spoolPoisonedNow: new Gauge({ name: 'phananh_spool_poisoned', help: 'Spooled messages set aside in spool/poison.jsonl, waiting for an operator', registers: [registry] }),
  jobsPending: new Gauge({ name: 'phananh_jobs_pending', help: 'Jobs due or waiting for retry', registers: [registry] }),
};
