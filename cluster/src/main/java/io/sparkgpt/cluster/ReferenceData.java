package io.sparkgpt.cluster;

import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Gpt;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DPO's training data: preference pairs ({@link ExampleData.Kind#DPO}) whose every batch carries
 * the frozen reference model's per-row log-probabilities ({@link Batch#referenceLogps()}), computed
 * where the batch is made (on the worker, or on the driver for validation) by a language-model
 * engine over the reference checkpoint: one forward pass, no gradient. The checkpoint is read once
 * per JVM from a path that is the same on every host (as the examples are); its engines are reused,
 * one per concurrently running task.
 */
public final class ReferenceData implements TrainingData {
  private static final long serialVersionUID = 1L;
  private static final Map<String, Checkpoint> CHECKPOINTS = new ConcurrentHashMap<>();
  private static final Map<String, ConcurrentLinkedQueue<Gpt>> ENGINES = new ConcurrentHashMap<>();

  private final ExampleData pairs;
  private final String reference;

  public ReferenceData(ExampleData pairs, Path referenceCheckpoint) {
    this.pairs = pairs;
    this.reference = referenceCheckpoint.toAbsolutePath().toString();
  }

  @Override
  public int seqLen() {
    return pairs.seqLen();
  }

  @Override
  public int vocabSize() {
    return pairs.vocabSize();
  }

  @Override
  public String tokenizerFile() {
    return pairs.tokenizerFile();
  }

  @Override
  public int trainSize() {
    return pairs.trainSize();
  }

  @Override
  public int valSize() {
    return pairs.valSize();
  }

  @Override
  public int rowsPerExample() {
    return pairs.rowsPerExample();
  }

  @Override
  public Batch trainBatch(long firstPosition, int b, long dataSeed) {
    return withReference(pairs.trainBatch(firstPosition, b, dataSeed));
  }

  @Override
  public Batch valBatch(int first, int b) {
    return withReference(pairs.valBatch(first, b));
  }

  private Batch withReference(Batch batch) {
    Checkpoint ck = checkpoint();
    // the device too: an engine's arrays live on the GPU of the task that built it
    String key =
        Nd4j.getAffinityManager().getDeviceForCurrentThread() + "|" + ck.dir() + "|" + seqLen();
    ConcurrentLinkedQueue<Gpt> idle =
        ENGINES.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>());
    Gpt engine = idle.poll();
    if (engine == null) {
      engine = new Gpt(ck.config(), seqLen());
      engine.load(ck.backbone());
    }
    try {
      return batch.withReferenceLogps(engine.sequenceLogProbs(batch));
    } finally {
      idle.add(engine);
    }
  }

  private Checkpoint checkpoint() {
    Path dir = Path.of(reference);
    String key;
    try {
      // a checkpoint rewritten in place (a rerun) must not be served from the old copy
      Path model = dir.resolve(Checkpoint.MODEL);
      key = dir + "@" + Files.getLastModifiedTime(model).toMillis() + "/" + Files.size(model);
    } catch (IOException e) {
      throw new UncheckedIOException(
          dir + ": cannot read the DPO reference checkpoint on this host: " + e.getMessage(), e);
    }
    return CHECKPOINTS.computeIfAbsent(
        key,
        k -> {
          try {
            return Checkpoint.load(dir, false);
          } catch (IOException e) {
            throw new UncheckedIOException(
                dir + ": cannot read the DPO reference checkpoint on this host: " + e.getMessage(),
                e);
          }
        });
  }
}
