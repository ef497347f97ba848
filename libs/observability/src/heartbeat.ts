/**
 * Worker heartbeats: each worker process writes one small JSON document to Redis every few
 * seconds with a time-to-live a few times longer; the api counts the live ones for /metrics
 * (`kvplan_workers`). The worker stays free of an HTTP server, and a worker that died simply
 * stops being counted when its key expires.
 */
export interface WorkerHeartbeat {
  /** Stable for the process: hostname:pid:random. */
  workerId: string;
  hostname: string;
  pid: number;
  /** Queues this process consumes. */
  queues: string[];
  startedAt: string;
  sentAt: string;
  /** Jobs running now, and finished since start (per outcome). */
  active: number;
  completed: number;
  failed: number;
}

export const HEARTBEAT_INTERVAL_MS = 5_000;
export const HEARTBEAT_TTL_S = 15;

export function workerHeartbeatKey(queuePrefix: string, workerId: string): string {
  return `${queuePrefix}:workers:${workerId}`;
}

/** Glob for SCAN over every heartbeat key of a prefix. */
export function workerHeartbeatPattern(queuePrefix: string): string {
  return `${queuePrefix}:workers:*`;
}

/** Parses a stored heartbeat; null for anything that is not one (never throws). */
export function parseHeartbeat(raw: string | null): WorkerHeartbeat | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<WorkerHeartbeat>;
    if (
      typeof v.workerId !== 'string' ||
      !Array.isArray(v.queues) ||
      typeof v.sentAt !== 'string' ||
      typeof v.active !== 'number' ||
      typeof v.completed !== 'number' ||
      typeof v.failed !== 'number'
    )
      return null;
    return v as WorkerHeartbeat;
  } catch {
    return null;
  }
}
