// The library's public names: everything the CLI does is reachable from here without it.
export { initBackend, backendInfo, type BackendInfo, type BackendName } from './backend.js';
export { MamError } from './errors.js';
export { MamDense, type MamDenseArgs } from './layers/mam-dense.js';
export { MaskedDense, type MaskedDenseArgs } from './layers/masked-dense.js';
export { PrunableDense, type LayerKind, type PrunableDenseArgs } from './layers/prunable-dense.js';
export { mamProduct, mamSelect } from './layers/mam-op.js';
export { mamForwardJs, mamBackwardJs, sliceStart, type MamDims, type MamForwardResult, type PrunedAs } from './layers/mam-math.js';
export { mamForward, mamKernelInfo } from './layers/mam-wasm.js';
export { saveModel, loadModel, MODEL_FORMAT_VERSION, type LoadedModel, type ModelMetadata } from './model/files.js';
export { vconBeta, VconSchedule, type VconOptions, type VconShape } from './train/vcon.js';
export { setModelBeta, vconCallbacks } from './train/beta.js';
