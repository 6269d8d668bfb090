package io.sparkgpt.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.SampleOrder;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a language-model run reads: one token dataset, or a token-weighted blend of several ({@link
 * Mixture}), as a training order and validation batches; plus what the metrics and progress line
 * say about the blend.
 */
public final class DataBlend {
  private final SampleOrder train;
  private final SampleOrder val;
  private final int trainSize;
  private final int valSize;

  private DataBlend(SampleOrder train, SampleOrder val, int trainSize, int valSize) {
    this.train = train;
    this.val = val;
    this.trainSize = trainSize;
    this.valSize = valSize;
  }

  /** {@code sets} in the sources' order, or one set when {@code sources} is null. */
  public static DataBlend of(List<TokenDataset> sets, List<Mixture.Source> sources, long dataSeed) {
    List<SampleReader> trains = new ArrayList<>();
    List<SampleReader> vals = new ArrayList<>();
    int trainSize = 0;
    int valSize = 0;
    for (TokenDataset d : sets) {
      SampleReader t = d.split("train");
      if (t.numSamples() == 0) {
        throw new IllegalArgumentException(d.dir() + ": the train split has no samples");
      }
      trains.add(t);
      SampleReader v = d.splits().contains("val") ? d.split("val") : null;
      vals.add(v);
      trainSize += t.numSamples();
      valSize += v == null ? 0 : v.numSamples();
    }
    List<Mixture.Source> blend =
        sources != null ? sources : List.of(new Mixture.Source("data", 1, 0));
    if (blend.size() != sets.size()) {
      throw new IllegalArgumentException("one dataset per mixture source");
    }
    SampleOrder order =
        sources == null
            ? SampleOrder.of(trains.get(0), dataSeed)
            : SampleOrder.of(trains, sources, dataSeed);
    return new DataBlend(order, SampleOrder.validation(vals, blend), trainSize, valSize);
  }

  /**
   * The sources as one line, e.g. {@code web:0.7,code:0.2:max_epochs=2}: the run's record of its
   * blend.
   */
  public static String describe(List<Mixture.Source> sources) {
    List<String> parts = new ArrayList<>();
    for (Mixture.Source s : sources) {
      parts.add(
          s.name() + ":" + s.weight() + (s.maxEpochs() > 0 ? ":max_epochs=" + s.maxEpochs() : ""));
    }
    return String.join(",", parts);
  }

  public SampleOrder train() {
    return train;
  }

  public int trainSize() {
    return trainSize;
  }

  public int valSize() {
    return valSize;
  }

  /**
   * The first {@code evalBatches} micro-batches of validation (fewer when val is small); none
   * without val.
   */
  public List<Batch> valBatches(int evalBatches, int microBatch) {
    List<Batch> out = new ArrayList<>();
    if (val == null) {
      return out;
    }
    int nb = Math.min(evalBatches, Math.max(1, valSize / microBatch));
    int b = Math.min(microBatch, valSize);
    for (int k = 0; k < nb; k++) {
      out.add(Batch.from(val, (long) k * b, b));
    }
    return out;
  }

  /** The error when a run needs more samples than the capped sources hold. */
  public String capacityError(long needed) {
    return tooFew(train.mixture(), needed);
  }

  public static String tooFew(Mixture m, long needed) {
    return String.format(
        Locale.ROOT,
        "the mixture's max_epochs caps allow %,d samples, the run needs %,d "
            + "(fewer --steps, or raise max_epochs)",
        m.capacity(),
        needed);
  }

  /**
   * Adds {@code tokens_per_source} (tokens drawn from each source in positions {@code [0,
   * positions)}).
   */
  public void putTokensPerSource(ObjectNode metrics, long positions, int seqLen) {
    putTokensPerSource(train.mixture(), metrics, positions, seqLen);
  }

  public static void putTokensPerSource(Mixture m, ObjectNode metrics, long positions, int seqLen) {
    if (m == null) {
      return;
    }
    long[] drawn = m.drawn(positions);
    ObjectNode o = metrics.putObject("tokens_per_source");
    for (int s = 0; s < drawn.length; s++) {
      o.put(m.sources().get(s).name(), drawn[s] * seqLen);
    }
  }

  /**
   * {@code " | mix web 70.0% code 20.0%"}: the realised shares so far, for the progress line; empty
   * for one set.
   */
  public String sharesLine(long positions) {
    return sharesLine(train.mixture(), positions);
  }

  public static String sharesLine(Mixture m, long positions) {
    if (m == null) {
      return "";
    }
    double[] share = m.shares(positions);
    StringBuilder b = new StringBuilder(" | mix");
    for (int s = 0; s < share.length; s++) {
      b.append(String.format(Locale.ROOT, " %s %.1f%%", m.sources().get(s).name(), 100 * share[s]));
    }
    return b.toString();
  }
}
