export {
  runWithContext,
  currentContext,
  currentRequestId,
  requestIdFrom,
  REQUEST_ID_PATTERN,
  type LogContext,
} from './request-context';
export { createLogger, LOG_LEVELS, REDACTED_PATHS, type LoggerOptions, type LogLevel } from './logger';
export { ConfigError, EnvReader, STORAGE_MARKER, checkStorageRoot, defaultStorageDir } from './env';
export { PinoNestLogger } from './nest-logger';
export {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_S,
  parseHeartbeat,
  workerHeartbeatKey,
  workerHeartbeatPattern,
  type WorkerHeartbeat,
} from './heartbeat';
