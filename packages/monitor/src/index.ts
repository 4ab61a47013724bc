export { type LogSpec, loadMonitorConfig, type MonitorConfig, type NpmPackageSpec, PUBLIC_GOOD_LOGS } from './config';
export { CompactRange, consistencyFailure, hashLeaf, rangeFromInclusionProof, rootFromInclusionProof } from './merkle';
export { formatAlert, type MonitorOptions, type MonitorResult, runMonitor } from './monitor';
export type { Alert, AlertKind } from './state';
