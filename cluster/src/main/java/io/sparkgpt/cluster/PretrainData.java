package io.sparkgpt.cluster;

import io.sparkgpt.model.Batch;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.SampleOrder;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pretraining data: a packed token dataset made by {@code tokenize}, or a token-weighted blend of
 * several ({@link Mixture}), opened memory-mapped on each executor. Position {@code pos} is read
 * through {@link SampleOrder}, the single-process trainer's order.
 */
public final class PretrainData extends FileTrainingData {
  private static final long serialVersionUID = 3L;
  private static final Map<String, TokenDataset> OPEN = new ConcurrentHashMap<>();

  private final List<String> dirs;

  /** The blend's sources, in the order of {@link #dirs}; null: one dataset. */
  private final List<Mixture.Source> sources;

  private final long[] trainSizes;

  /** This task's reader of the order (built on first use: it caches epoch permutations). */
  private transient SampleOrder train;

  private transient SampleOrder val;

  private PretrainData(List<String> dirs, List<Mixture.Source> sources, List<TokenDataset> sets) {
    this(
        dirs, sources, sets, sets.stream().mapToLong(d -> d.split("train").numSamples()).toArray());
  }

  private PretrainData(
      List<String> dirs, List<Mixture.Source> sources, List<TokenDataset> sets, long[] trainSizes) {
    super(
        sets.get(0).seqLen(),
        sets.get(0).vocabSize(),
        sets.get(0).tokenizerFile().toString(),
        (int) Math.min(Integer.MAX_VALUE, java.util.Arrays.stream(trainSizes).sum()),
        sets.stream()
            .mapToInt(d -> d.splits().contains("val") ? d.split("val").numSamples() : 0)
            .sum());
    this.dirs = List.copyOf(dirs);
    this.sources = sources == null ? null : List.copyOf(sources);
    this.trainSizes = trainSizes;
  }

  /**
   * Describes a dataset the driver has open, which the workers read at {@code location} (a path
   * that is the same on every executor, or a Hadoop file system URI: {@link DatasetLocation});
   * null: the driver's folder.
   */
  public static PretrainData of(TokenDataset ds, String location) {
    return new PretrainData(
        List.of(location != null ? location : ds.dir().toAbsolutePath().toString()),
        null,
        List.of(ds));
  }

  /**
   * A blend: {@code sets} open on the driver, one per source, read by the workers at {@code
   * locations} (null entries: the driver's folder). The sets must share seq_len and vocabulary;
   * checkpoints copy the first one's tokenizer.
   */
  public static PretrainData of(
      List<TokenDataset> sets, List<String> locations, List<Mixture.Source> sources) {
    List<String> dirs = new ArrayList<>();
    for (int s = 0; s < sets.size(); s++) {
      TokenDataset d = sets.get(s);
      if (d.seqLen() != sets.get(0).seqLen() || d.vocabSize() != sets.get(0).vocabSize()) {
        throw new IllegalArgumentException(
            "mixture sources differ: "
                + sets.get(0).dir()
                + " has seq_len "
                + sets.get(0).seqLen()
                + " and vocabulary "
                + sets.get(0).vocabSize()
                + ", "
                + d.dir()
                + " "
                + d.seqLen()
                + " and "
                + d.vocabSize());
      }
      if (d.split("train").numSamples() == 0) {
        throw new IllegalArgumentException(d.dir() + ": the train split has no samples");
      }
      dirs.add(locations.get(s) != null ? locations.get(s) : d.dir().toAbsolutePath().toString());
    }
    return new PretrainData(dirs, sources, sets);
  }

  /**
   * The dataset at {@code location}, opened once per executor JVM (memory-mapped, read-only,
   * thread-safe).
   */
  static TokenDataset open(String location) {
    return OPEN.computeIfAbsent(
        location,
        d -> {
          try {
            return TokenDataset.open(
                DatasetLocation.localize(
                    d, DatasetLocation.hadoopConf(), DatasetLocation.cacheRoot()),
                false);
          } catch (IOException e) {
            throw new IllegalStateException(
                d + ": cannot open the dataset on this executor: " + e.getMessage(), e);
          }
        });
  }

  private List<SampleReader> splits(String name) {
    List<SampleReader> out = new ArrayList<>();
    for (String d : dirs) {
      TokenDataset ds = open(d);
      out.add(ds.splits().contains(name) ? ds.split(name) : null);
    }
    return out;
  }

  @Override
  public Mixture mixture(long dataSeed) {
    return sources == null ? null : new Mixture(sources, trainSizes, dataSeed);
  }

  @Override
  public Batch trainBatch(long firstPosition, int b, long dataSeed) {
    if (train == null) {
      train =
          sources == null
              ? SampleOrder.of(splits("train").get(0), dataSeed)
              : SampleOrder.of(splits("train"), sources, dataSeed);
    }
    return Batch.from(train, firstPosition, b);
  }

  @Override
  public Batch valBatch(int first, int b) {
    if (val == null) {
      val =
          SampleOrder.validation(
              splits("val"), sources != null ? sources : List.of(new Mixture.Source("data", 1, 0)));
    }
    return Batch.from(val, first, b);
  }
}
