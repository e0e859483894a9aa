// The MAM product as a tfjs op: two kernels ('MamForward', 'MamBackward') registered per
// backend, tied together by tf.customGrad so that only the selected connections get
// gradient. (tfjs's own max/min gradient sends gradient to every tied element, which is wrong
// for MAM: pruned zeros tie.) The arithmetic lives in mam-wasm.ts / mam-math.ts; a kernel here
// only moves typed arrays between the backend's tensors and those functions.
import * as tf from '@tensorflow/tfjs';
import { mamBackwardJs, type MamDims } from './mam-math.js';
import { mamForwardViews } from './mam-wasm.js';

const FORWARD = 'MamForward';
const BACKWARD = 'MamBackward';

type Values = Float32Array | Int32Array;
type Backend = tf.KernelBackend & {
  typedArrayFromHeap?(t: tf.TensorInfo): Values;
};

/** How a kernel reads its inputs and makes its outputs on one backend. */
interface HostIO {
  read(t: tf.TensorInfo): Values;
  /** `fresh`: the array is the caller's own new array, which the backend may keep. */
  write(values: Values, shape: number[], dtype: 'float32' | 'int32', fresh: boolean): tf.TensorInfo;
}

function hostIO(backend: Backend): HostIO {
  // wasm keeps tensors in its own heap: inputs are read as views on it (before any output is
  // allocated, which could grow it) and write() copies. Other backends (cpu, tfjs-node) keep
  // the array write() is given, so it must not be a view on the MAM kernel's memory.
  const heap = backend.typedArrayFromHeap?.bind(backend);
  return {
    read: (t) => (heap ? heap(t) : backend.readSync(t.dataId) as Values),
    write: (values, shape, dtype, fresh) =>
      ({ dataId: backend.write(heap || fresh ? values : values.slice(), shape, dtype), shape, dtype }),
  };
}

interface MamAttrs { splits: number }

/** A named kernel input that runKernel must have been given. */
function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`MAM kernel called without its '${name}' input`);
  return t;
}

function dimsOf(x: tf.TensorInfo, w: tf.TensorInfo, splits: number): MamDims {
  if (x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[0]) {
    throw new RangeError(`MAM op needs x [batch, n] and w [n, m], got x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}]`);
  }
  return { batch: x.shape[0]!, inputs: w.shape[0]!, outputs: w.shape[1]!, splits };
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const io = hostIO(backend as Backend);
  const [x, w, keep] = [input(inputs, 'x'), input(inputs, 'w'), inputs.keep];
  const d = dimsOf(x, w, (attrs as unknown as MamAttrs).splits);
  if (keep && (keep.shape[0] !== d.inputs || keep.shape[1] !== d.outputs)) {
    throw new RangeError(`MAM op: the mask [${keep.shape.join(', ')}] does not match w [${d.inputs}, ${d.outputs}]`);
  }
  // Views on the kernel's memory, valid until its next call: write() takes care of copying.
  const r = mamForwardViews(io.read(x) as Float32Array, io.read(w) as Float32Array, keep ? io.read(keep) : null, d);
  return [
    io.write(r.y, [d.batch, d.outputs], 'float32', false),
    io.write(r.argmax, [d.batch, d.splits, d.outputs], 'int32', false),
    io.write(r.argmin, [d.batch, d.splits, d.outputs], 'int32', false),
  ];
};

const backwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const io = hostIO(backend as Backend);
  const [dy, x, w, argmax, argmin] = ['dy', 'x', 'w', 'argmax', 'argmin'].map((name) => input(inputs, name)) as
    [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const keep = inputs.keep;
  const d = dimsOf(x, w, (attrs as unknown as MamAttrs).splits);
  const g = mamBackwardJs(
    io.read(dy) as Float32Array, io.read(x) as Float32Array, io.read(w) as Float32Array,
    io.read(argmax) as Int32Array, io.read(argmin) as Int32Array, keep ? io.read(keep) : null, d);
  return [io.write(g.dx, x.shape, 'float32', true), io.write(g.dw, w.shape, 'float32', true)];
};

/** Registers the MAM kernels for a backend (done for cpu and wasm on import, others on first use). */
export function registerMamKernels(backendName: string): void {
  if (tf.getKernel(FORWARD, backendName) === undefined) {
    tf.registerKernel({ kernelName: FORWARD, backendName, kernelFunc: forwardKernel });
  }
  if (tf.getKernel(BACKWARD, backendName) === undefined) {
    tf.registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: backwardKernel });
  }
}
registerMamKernels('cpu');
registerMamKernels('wasm');

function run(kernelName: string, inputs: tf.NamedTensorMap, attrs: MamAttrs): tf.Tensor[] {
  registerMamKernels(tf.getBackend());
  return tf.engine().runKernel(kernelName, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/** Forward only, also returning the selected indices [batch, splits, outputs] (for pruning by selection). */
export function mamSelect(
  x: tf.Tensor2D, w: tf.Tensor2D, keep: tf.Tensor2D | null, splits: number,
): { y: tf.Tensor2D; argmax: tf.Tensor3D; argmin: tf.Tensor3D } {
  const inputs: tf.NamedTensorMap = keep ? { x, w, keep } : { x, w };
  const [y, argmax, argmin] = run(FORWARD, inputs, { splits });
  return { y: y as tf.Tensor2D, argmax: argmax as tf.Tensor3D, argmin: argmin as tf.Tensor3D };
}

/**
 * y[b,k] = sum over the S input slices of (max_j + min_j) of w[j,k] x[b,j], without bias.
 * w is the effective kernel (pruned entries already 0). `keep` is the pruning mask when pruned
 * connections are 'absent' from the max/min, null when they take part as 0 ('zero').
 * Differentiable in x and w; see mamBackwardJs for the gradient.
 */
export function mamProduct(x: tf.Tensor2D, w: tf.Tensor2D, keep: tf.Tensor2D | null, splits: number): tf.Tensor2D {
  const op = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, ws, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const { y, argmax, argmin } = mamSelect(xs, ws, keep, splits);
    save([xs, ws, argmax, argmin]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, amax, amin] = saved;
        const backInputs: tf.NamedTensorMap = { dy, x: sx!, w: sw!, argmax: amax!, argmin: amin! };
        if (keep) backInputs.keep = keep;
        return run(BACKWARD, backInputs, { splits });
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  return op(x, w) as tf.Tensor2D;
}
