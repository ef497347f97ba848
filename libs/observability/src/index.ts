export {
  runWithContext,
  currentContext,
  currentRequestId,
  requestIdFrom,
  REQUEST_ID_PATTERN,
  type LogContext,
} from './request-context';
export { createLogger, REDACTED_PATHS, type LoggerOptions, type LogLevel } from './logger';
export { PinoNestLogger } from './nest-logger';
export {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_S,
  parseHeartbeat,
  workerHeartbeatKey,
  workerHeartbeatPattern,
  type WorkerHeartbeat,
} from './heartbeat';
