import { matmulAB, matmulABAsync, transposeRows } from './tf-ops';
import { oneNodeModel } from './onnx-graph';
import { dot } from './vec';

/**
 * The block-similarity product, injected into the searches: `gram(a, m, b, n, D)` is the
 * m x n row-major matrix of dot products of the rows of `a` (m x D, row-major) with the rows of
 * `b` (n x D, row-major). Stateless between calls as far as the caller can tell, and it never
 * keeps a reference to its operands. A kernel whose device is read asynchronously (tfjs on WebGPU
 * under Node) also has `gramAsync`, and its `gram` may refuse: fuseLayerAsync and analyzeFusion
 * then await each product (the searches are written once, as {@link Products}).
 */
export interface SimilarityKernel {
  /** What ran the products, for logs and results (e.g. `tfjs`, `onnxruntime-node`, `js`). */
  readonly name: string;
  /**
   * How many products per needed one the kernel may compute and still beat JS pair-by-pair dot
   * products: the sketch's exact checks go through one kernel product (candidate rows x candidate
   * columns) when it holds at most this many entries per candidate, else pair by pair. 0: never.
   */
  readonly checkSpread: number;
  gram(a: Float32Array, m: number, b: Float32Array, n: number, D: number): Float32Array;
  /**
   * The same product, read back asynchronously. It has read its operands by the time it returns
   * (the caller reuses their buffers while the promise is pending).
   */
  gramAsync?(a: Float32Array, m: number, b: Float32Array, n: number, D: number): Promise<Float32Array>;
  /** Releases native resources (a session); the kernel is unusable afterwards. */
  dispose(): void;
}

/**
 * The default: tfjs matmuls on whatever backend the application selected (the library never
 * picks one). The smaller side is the matmul's "weights" operand (wasm packs it at every call, in
 * proportion to its size) and B goes in transposed by JS (NOTES-deps.md: wasm's transposeB is
 * ten times slower than an explicit transpose).
 */
export const tfjsKernel: SimilarityKernel = {
  name: 'tfjs',
  // Uploads and packing make small products dearer than JS dots on wasm (measured: checks through
  // tfjs made the sketch search several times slower).
  checkSpread: 0,
  gram(a, m, b, n, D) {
    if (m === 0 || n === 0) return new Float32Array(m * n);
    if (m <= n) return transposeRows(matmulAB(b, n, transposeRows(a, m, D), m, D), n, m);
    return matmulAB(a, m, transposeRows(b, n, D), n, D);
  },
  dispose() {},
};

/**
 * tfjs matmuls read back asynchronously (`data()`), for a backend with no synchronous read: tfjs's
 * WebGPU backend under Node (its dataSync needs an OffscreenCanvas). Its `gram` refuses, naming
 * the way to run it.
 */
export const tfjsAsyncKernel: SimilarityKernel = {
  name: 'tfjs-async',
  checkSpread: 0,
  gram() {
    throw new Error(
      'the tfjs-async kernel reads its products asynchronously: fuse with fuseLayerAsync or analyzeFusion',
    );
  },
  gramAsync(a, m, b, n, D) {
    if (m === 0 || n === 0) return Promise.resolve(new Float32Array(m * n));
    if (m <= n) return matmulABAsync(b, n, transposeRows(a, m, D), m, D).then((y) => transposeRows(y, n, m));
    return matmulABAsync(a, m, transposeRows(b, n, D), n, D);
  },
  dispose() {},
};

/** Plain Float32Array loops (a reference and a measuring stick; under 1 GFLOP/s, bench:kernels). */
export const jsKernel: SimilarityKernel = {
  name: 'js',
  checkSpread: 0,
  gram(a, m, b, n, D) {
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = dot(a, i * D, b, j * D, D);
    return out;
  },
  dispose() {},
};

/** The parts of onnxruntime-node's synchronous native binding this kernel uses. */
export interface OrtSyncSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(
    feeds: Record<string, unknown>,
    fetches: Record<string, null>,
    options: object,
  ): Record<string, { data: unknown; dims: readonly number[] }>;
  dispose(): void;
}

/**
 * What an application hands to {@link createOrtKernel}: onnxruntime-node's `Tensor` class and its
 * synchronous session binding (`onnxruntime-node/dist/binding`; the public API's `run` returns a
 * promise, and the searches are synchronous).
 */
export interface OrtModules {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  binding: { InferenceSession: new () => OrtSyncSession };
  initOrt: () => void;
}

/**
 * A one-node Gemm (`y = a b^T`, ONNX `transB=1`, symbolic shapes) on onnxruntime's CPU
 * execution provider: its MLAS sgemm, about ten times the wasm backend's matmul rate. `threads`:
 * onnxruntime's intra-op threads (the application's thread policy decides; the library starts
 * none of its own).
 */
export function createOrtKernel(ort: OrtModules, threads: number): SimilarityKernel {
  const bytes = oneNodeModel({
    op: 'Gemm',
    a: ['m', 'k'],
    b: ['n', 'k'],
    y: ['m', 'n'],
    intAttributes: { transB: 1 },
  });
  ort.initOrt();
  const session = new ort.binding.InferenceSession();
  session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: Math.max(1, Math.floor(threads)),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Its pool threads sleep between products instead of spinning: on cores shared with other
    // work (the JS between products, other processes) spinning cost a sketch layer about 30 %.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  let open = true;
  return {
    name: 'onnxruntime-node',
    // About a hundred times JS's rate on the same core: a product of the candidate rows pays while
    // it holds up to a few dozen entries per candidate.
    checkSpread: 32,
    gram(a, m, b, n, D) {
      if (m === 0 || n === 0) return new Float32Array(m * n);
      if (!open) throw new Error('onnxruntime kernel used after dispose');
      const out = session.run(
        {
          a: new ort.Tensor('float32', a.length === m * D ? a : a.subarray(0, m * D), [m, D]),
          b: new ort.Tensor('float32', b.length === n * D ? b : b.subarray(0, n * D), [n, D]),
        },
        { y: null },
        {},
      );
      const y = out.y.data;
      if (!(y instanceof Float32Array) || y.length !== m * n)
        throw new Error(`onnxruntime returned ${describe(y)} for a ${m} x ${n} product`);
      return y;
    },
    dispose() {
      if (open) session.dispose();
      open = false;
    },
  };
}

function describe(y: unknown): string {
  return y instanceof Float32Array ? `${y.length} floats` : typeof y;
}
