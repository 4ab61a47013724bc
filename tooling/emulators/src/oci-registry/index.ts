// Container registries for tests: Debian's docker-registry (the real thing, no referrers API),
// a Node OCI 1.1 fixture with the referrers API, real image layouts, and pushes with skopeo.
// Imported as @signet/emulators/oci-registry.
export { type Fault, FaultPlan, type FaultRule } from '../faults';
export { type DockerRegistryOptions, type RunningDockerRegistry, startDockerRegistry } from './docker-registry';
export { type BuildTestImageOptions, buildTestImage, pushImage, registryFetch, type TestImage } from './image';
export { MANIFEST_ACCEPT, MediaType } from './media-types';
export {
  OPERATIONS,
  type ReferrersRegistryOptions,
  type RegistryOperation,
  type RunningReferrersRegistry,
  startReferrersRegistry,
} from './referrers-registry';
export {
  type DescribeWithRegistryToolsOptions,
  describeWithRegistryTools,
  type RegistryTool,
  registryToolsAvailable,
} from './tools';
export type { RegistryRequest, RunningRegistry } from './types';
