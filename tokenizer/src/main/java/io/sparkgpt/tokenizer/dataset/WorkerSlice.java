package io.sparkgpt.tokenizer.dataset;

/**
 * The positions {@code [start, end)} of an epoch's order that one of {@code numWorkers} workers
 * reads. Worker {@code w} of {@code N} over {@code n} positions gets {@code [floor(n*w/N),
 * floor(n*(w+1)/N))}: contiguous, in worker order, no overlap, no gap, sizes differing by at most
 * one. With shuffling, worker {@code w} reads samples {@code perm[start] .. perm[end-1]} of the
 * epoch's permutation; without, samples {@code start .. end-1}.
 */
public record WorkerSlice(int worker, int numWorkers, int start, int end) {

  public static WorkerSlice of(int n, int worker, int numWorkers) {
    if (numWorkers <= 0 || worker < 0 || worker >= numWorkers) {
      throw new IllegalArgumentException("worker " + worker + " of " + numWorkers + " workers");
    }
    if (n < 0) {
      throw new IllegalArgumentException("negative number of samples " + n);
    }
    return new WorkerSlice(
        worker,
        numWorkers,
        (int) ((long) n * worker / numWorkers),
        (int) ((long) n * (worker + 1) / numWorkers));
  }

  public int size() {
    return end - start;
  }

  /** The k-th position of this worker's slice. */
  public int position(int k) {
    if (k < 0 || k >= size()) {
      throw new IndexOutOfBoundsException("position " + k + " of a slice of " + size());
    }
    return start + k;
  }
}
