// The project's WebAssembly SIMD module (built by scripts/build-wasm.mjs): the MAM kernels
// used by the tfjs op, and the dense, MAM and Adam kernels of the training engine. It imports
// a shared memory, so that the threads of a training step work on the same arrays.
export * from './mam';
export * from './dense';
export * from './adam';
