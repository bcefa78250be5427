export { SssCluster, type SssClusterApp } from './cluster/sss-cluster.js';
export type { SssClusterPrimary } from './cluster/sss-cluster.primary.js';
export type { SssClusterOptions, SssClusterRespawn } from './cluster/sss-cluster-options.interface.js';
export { ClusterScaler } from './scaler/cluster/cluster.scaler.js';
export type { ClusterScalerOptions } from './scaler/cluster/cluster-scaler-options.interface.js';
