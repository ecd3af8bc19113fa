/** The webhook's pod mutation: pure functions, no I/O. */
export * from "./config.js";
export {
  mutatePod,
  mutationPatch,
  planPodPatch,
  podServiceAccountName,
  readPod,
  tokenVolumeConflict,
  ENV,
} from "./mutate.js";
export type {
  ContainerView,
  MutationMode,
  MutationPatch,
  MutationResult,
  PodPatchPlan,
  PodView,
  VolumeView,
} from "./mutate.js";
export { configuresOwnCredentials } from "./container.js";
export { applyAddOperations, escapePointerToken, type PatchOperation } from "./patch.js";
export {
  containerCredentialsSettings,
  defaultServiceAccountSettings,
  parseContainerCredentialsIdentities,
  partitionForRegion,
  roleArnWarning,
  serviceAccountSettings,
  serviceAccountSettingsFromAnnotations,
} from "./service-account.js";
export type {
  ComposeRoleArn,
  ContainerCredentialsSettings,
  ServiceAccountOptions,
  ServiceAccountSettings,
} from "./service-account.js";
export {
  CONFIG_MAP_NAME,
  configMapEntry,
  parseConfigMapEntries,
  type ConfigMapEntries,
} from "./config-map.js";
