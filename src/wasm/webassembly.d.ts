// The few WebAssembly globals src/wasm/kernels.ts uses: @types/node 20 does not declare them
// and the DOM lib would bring in far more than Node has.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    /** A SharedArrayBuffer for a shared memory (typed arrays take either). */
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
