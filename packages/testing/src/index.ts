export { waitFor } from './wait.js';
export { redisUrl, sharedRedisPort, freshDb, startRedisServer, answersPing } from './redis.js';
export { startProcess, stopProcess, stopAllProcesses, freePort, type Started } from './processes.js';
export { quietLogger, captureLogger } from './logs.js';
export { findChromium, SYSTEM_CHROMIUM_PATHS, type ChromiumLaunch } from './chromium.js';
