import type { SimilarityKernel } from './kernel';

/** A similarity product a search asks for: the rows of `a` (m x D) with the rows of `b` (n x D). */
export interface Product {
  a: Float32Array;
  m: number;
  b: Float32Array;
  n: number;
  D: number;
}

/**
 * A computation that asks for similarity products as it goes (`yield`) and gets each back
 * (m x n, row-major) before it goes on: the searches and the tree merge are written once this
 * way, and run on a synchronous kernel ({@link runProducts}) or an asynchronous one
 * ({@link runProductsAsync}: a GPU whose reads complete later).
 */
export type Products<T> = Generator<Product, T, Float32Array>;

/** Runs `g` with `kernel.gram` answering each product as it is asked for. */
export function runProducts<T>(g: Products<T>, kernel: SimilarityKernel): T {
  let r = g.next();
  while (!r.done) {
    const p = r.value;
    let out: Float32Array;
    try {
      out = kernel.gram(p.a, p.m, p.b, p.n, p.D);
    } catch (err) {
      r = g.throw(err);
      continue;
    }
    r = g.next(out);
  }
  return r.value;
}

/**
 * Runs `g` with the kernel's asynchronous product where it has one (`gramAsync`), else its
 * synchronous one, awaiting each before `g` goes on.
 */
export async function runProductsAsync<T>(g: Products<T>, kernel: SimilarityKernel): Promise<T> {
  let r = g.next();
  while (!r.done) {
    const p = r.value;
    let out: Float32Array;
    try {
      out = kernel.gramAsync
        ? await kernel.gramAsync(p.a, p.m, p.b, p.n, p.D)
        : kernel.gram(p.a, p.m, p.b, p.n, p.D);
    } catch (err) {
      r = g.throw(err);
      continue;
    }
    r = g.next(out);
  }
  return r.value;
}
