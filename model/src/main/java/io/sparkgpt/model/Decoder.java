package io.sparkgpt.model;

import java.util.Map;
import org.nd4j.linalg.api.blas.Blas;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Inference for one sequence: {@link Gpt#decode} (the training engine's forward kernels) with a
 * key/value cache, so each call processes only the new tokens, attending to the cached keys and
 * values of the earlier ones, and a generated token costs O(length) instead of a full forward pass.
 *
 * <pre>{@code
 * Decoder dec = new Decoder(cfg, params);
 * INDArray logits = dec.forward(promptIds);     // [V] logits of the next token after the prompt
 * logits = dec.forward(new int[]{nextId});      // one more token, using the cache
 * }</pre>
 *
 * With {@code useCache = false} every call recomputes the whole sequence so far (the comparison
 * baseline).
 */
public final class Decoder {
  private final Gpt gpt;
  private final Gpt.KvCache cache;
  private final boolean useCache;
  private int[] history = new int[0];

  /** The last {@link #forwardAll} result and its last row. */
  private INDArray logits, lastRow;

  public Decoder(GptConfig cfg, Map<String, INDArray> params, boolean useCache) {
    this.gpt = Gpt.inference(cfg, params);
    this.cache = new Gpt.KvCache(cfg);
    this.useCache = useCache;
  }

  public Decoder(GptConfig cfg, Map<String, INDArray> params) {
    this(cfg, params, true);
  }

  /** Head size (vocabulary x width) up to which {@link #oneBlasThread} applies. */
  private static final long ONE_THREAD_MAX_HEAD = 4L << 20;

  /** Restores what {@link #oneBlasThread} changed. */
  public interface BlasThreads extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Runs BLAS on one thread until closed when the model is small: its one-token matrix-vector
   * products are too small to share, and a 2-thread decode step took 8-10% less on one BLAS thread
   * (tiny, small); gpt2-124m (a 154 MB head) showed no clear difference and keeps its threads
   * (model README). OpenBLAS takes about 1-2 ms to change its thread count, so a generation sets it
   * once, not per token. The setting is process-wide.
   */
  public static BlasThreads oneBlasThread(GptConfig cfg) {
    Blas blas = Nd4j.factory().blas();
    int threads = blas.getMaxThreads();
    if (threads <= 1 || (long) cfg.vocabSize() * cfg.dModel() > ONE_THREAD_MAX_HEAD) {
      return () -> {};
    }
    blas.setMaxThreads(1);
    return () -> blas.setMaxThreads(threads);
  }

  /** The engine (for its kernel timers). */
  Gpt engine() {
    return gpt;
  }

  /** Tokens currently in the context. */
  public int length() {
    return history.length;
  }

  public void reset() {
    cache.clear();
    history = new int[0];
  }

  /**
   * Appends {@code ids} to the context and returns the logits [V] for the token after the last one:
   * a view of the engine's buffer, overwritten by the next call (copy it to keep it).
   *
   * @throws IllegalArgumentException if the context would exceed the block size (callers crop; see
   *     {@link Generator})
   */
  public INDArray forward(int[] ids) {
    INDArray all = forwardAll(ids);
    if (all
        != logits) { // the engine's buffers are reused while the token count repeats, and so is the
      // view
      logits = all;
      lastRow = all.getRow(all.rows() - 1);
    }
    return lastRow;
  }

  /**
   * As {@link #forward} but returns the logits of every new position, [n, V] (also overwritten by
   * the next call).
   */
  public INDArray forwardAll(int[] ids) {
    if (ids.length == 0) {
      throw new IllegalArgumentException("no tokens");
    }
    if (history.length + ids.length > gpt.config().blockSize()) {
      throw new IllegalArgumentException(
          "context of "
              + (history.length + ids.length)
              + " tokens exceeds the block size "
              + gpt.config().blockSize());
    }
    int[] all = new int[history.length + ids.length];
    System.arraycopy(history, 0, all, 0, history.length);
    System.arraycopy(ids, 0, all, history.length, ids.length);
    history = all;
    if (!useCache) {
      cache.clear();
      INDArray logits = gpt.decode(cache, all);
      return logits.get(
          NDArrayIndex.interval(all.length - ids.length, all.length), NDArrayIndex.all());
    }
    return gpt.decode(cache, ids);
  }
}
