package io.sparkgpt.cluster;

import io.sparkgpt.model.Batch;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Pretraining data: a packed token dataset made by {@code tokenize}, opened memory-mapped on each executor. */
public final class PretrainData implements TrainingData {
  private static final long serialVersionUID = 1L;
  private static final Map<String, TokenDataset> OPEN = new ConcurrentHashMap<>();

  private final String dir;
  private final int seqLen;
  private final int vocabSize;
  private final String tokenizerFile;
  private final int trainSize;
  private final int valSize;
  /** The current epoch's order on this worker (recomputed only when a batch crosses into another epoch). */
  private transient long epoch = -1;
  private transient int[] perm;

  private PretrainData(String dir, int seqLen, int vocabSize, String tokenizerFile, int trainSize, int valSize) {
    this.dir = dir;
    this.seqLen = seqLen;
    this.vocabSize = vocabSize;
    this.tokenizerFile = tokenizerFile;
    this.trainSize = trainSize;
    this.valSize = valSize;
  }

  /**
   * Describes a dataset the driver has open, which the workers read at {@code location} (a path that is the same
   * on every executor, or a Hadoop file system URI: {@link DatasetLocation}); null: the driver's folder.
   */
  public static PretrainData of(TokenDataset ds, String location) {
    int val = ds.splits().contains("val") ? ds.split("val").numSamples() : 0;
    return new PretrainData(location != null ? location : ds.dir().toAbsolutePath().toString(), ds.seqLen(),
        ds.vocabSize(), ds.tokenizerFile().toString(),
        ds.split("train").numSamples(), val);
  }

  /** The dataset at {@code location}, opened once per executor JVM (memory-mapped, read-only, thread-safe). */
  static TokenDataset open(String location) {
    return OPEN.computeIfAbsent(location, d -> {
      try {
        return TokenDataset.open(DatasetLocation.localize(d, DatasetLocation.hadoopConf(),
            DatasetLocation.cacheRoot()), false);
      } catch (IOException e) {
        throw new IllegalStateException(d + ": cannot open the dataset on this executor: " + e.getMessage(), e);
      }
    });
  }

  private SampleReader split(String name) {
    return open(dir).split(name);
  }

  @Override
  public int seqLen() {
    return seqLen;
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public String tokenizerFile() {
    return tokenizerFile;
  }

  @Override
  public int trainSize() {
    return trainSize;
  }

  @Override
  public int valSize() {
    return valSize;
  }

  @Override
  public Batch trainBatch(long firstPosition, int b, long dataSeed) {
    SampleReader train = split("train");
    int n = train.numSamples();
    int[][] t = new int[b][train.sampleTokens()];
    for (int i = 0; i < b; i++) {
      long pos = firstPosition + i;
      long e = pos / n;
      if (e != epoch || perm == null) {
        perm = train.epochPermutation(e, dataSeed);
        epoch = e;
      }
      train.sample(perm[(int) (pos % n)], t[i]);
    }
    return Batch.of(t);
  }

  @Override
  public Batch valBatch(int first, int b) {
    SampleReader val = split("val");
    int[][] t = new int[b][val.sampleTokens()];
    for (int i = 0; i < b; i++) {
      val.sample((first + i) % val.numSamples(), t[i]);
    }
    return Batch.of(t);
  }
}
