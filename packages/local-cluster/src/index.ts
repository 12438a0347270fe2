export { Cluster, startCluster, type ClusterStatus, type InstanceStatus, type ClusterInstance, type Host } from './cluster.js';
export type { ClusterOptions } from './options.js';
export { runCommand, type CommandResult } from './commands.js';
export { sendControl, findClusters } from './control.js';
export { haproxyConfig, haproxyInstalled } from './haproxy.js';
export { runFaultDrill, formatStep, STEP_NAMES, type DrillResult, type StepResult, type StepName } from './drill/drill.js';
export { Load, type LoadOptions, type LoadCounts } from './drill/load.js';
