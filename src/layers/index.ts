/**
 * Lambda layers: PublishLayerVersion and the other layer operations, layer version policies, and the
 * resolution of a function's `Layers` into the code it runs with. See docs/layers.md.
 */
export { LayerService, MAX_LAYERS_PER_FUNCTION, type PublishLayerInput, type LayerListQuery, type LayerListEntry } from './service.js';
export { layerArn, layerVersionArn } from './names.js';
export type { AddLayerPermissionInput } from './policy.js';
