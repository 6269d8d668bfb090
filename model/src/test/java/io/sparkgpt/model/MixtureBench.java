package io.sparkgpt.model;

import io.sparkgpt.tokenizer.Corpus;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.SampleOrder;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a token-weighted mixture costs per training step: the time to read a step's batch through a
 * three-source {@link Mixture} against one dataset, next to the step itself (forward, backward,
 * AdamW) of a model at the same batch shape, in one process. Datasets: the test corpus's English
 * prose, Wikipedia and Chinese poems, with the byte tokenizer (vocabulary 257, which makes the step
 * cheaper than a real one: the overhead shown is an upper bound). Prints a Markdown table; target:
 * the mixture's extra time under 1% of the step.
 *
 * <pre>
 * mvn -q -pl model -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp model/target/test-classes:model/target/classes:$(cat model/target/cp.txt) \
 *     io.sparkgpt.model.MixtureBench [--config small] [--batch 8] [--seq-len 256] [--steps 3]
 * </pre>
 */
public final class MixtureBench {
  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i], args[i + 1]);
    }
    String preset = a.getOrDefault("--config", "small");
    int batch = Integer.parseInt(a.getOrDefault("--batch", "8"));
    int seqLen = Integer.parseInt(a.getOrDefault("--seq-len", "256"));
    int steps = Integer.parseInt(a.getOrDefault("--steps", "3"));
    Path tmp = Files.createTempDirectory("mixture-bench");
    Path corpus = Corpus.dir();
    String[] files = {
      "prose_en/tinyshakespeare.txt",
      "prose_en/wikitext-2-raw-v1.test.txt",
      "zh/fortunes-zh-tang300.txt"
    };
    List<TokenDataset> sets = new ArrayList<>();
    for (int s = 0; s < files.length; s++) {
      String text = Files.readString(corpus.resolve(files[s]), StandardCharsets.UTF_8);
      sets.add(TokenDataset.open(TestData.byteDataset(tmp.resolve("d" + s), text, seqLen, 2000)));
    }
    List<SampleReader> trains = sets.stream().map(d -> d.split("train")).toList();
    List<Mixture.Source> sources =
        List.of(
            new Mixture.Source("en", 0.6, 0),
            new Mixture.Source("wiki", 0.3, 0),
            new Mixture.Source("zh", 0.1, 2));
    SampleOrder one = SampleOrder.of(trains.get(0), 1);
    SampleOrder mix = SampleOrder.of(trains, sources, 1);
    int dataSteps = 3000;
    double oneUs = 0;
    double mixUs = 0;
    for (int round = 0; round < 3; round++) { // the first round warms the JIT up; the last counts
      oneUs = perStepMicros(one, batch, dataSteps);
      mixUs = perStepMicros(mix, batch, dataSteps);
    }

    GptConfig cfg = GptConfig.preset(preset, 257).withBlockSize(seqLen);
    StepRunner runner =
        new StepRunner(
            cfg, seqLen, AdamW.Hyper.defaults(), new LrSchedule(1e-3, 1e-4, 10, 1000), 1.0);
    Map<String, INDArray> params = runner.own(GptModel.initParams(cfg, 1));
    AdamW.State opt = runner.own(AdamW.State.zeros(params));
    double[] ms = new double[steps + 1];
    for (int s = 0; s <= steps; s++) {
      long t0 = System.nanoTime();
      runner.step(params, opt, List.of(Batch.from(one, (long) s * batch, batch)), 1);
      ms[s] = (System.nanoTime() - t0) / 1e6;
    }
    double stepMs = median(Arrays.copyOfRange(ms, 1, ms.length));
    System.out.printf(
        Locale.ROOT,
        "%n| step (%s, B %d x T %d) ms | batch read, one dataset, us | batch read, 3-source "
            + "mixture, us | mixture extra, us | extra / step |%n|---|---|---|---|---|%n| %.1f | %.1f | %.1f | %.1f | %.5f%% |%n",
        preset,
        batch,
        seqLen,
        stepMs,
        oneUs,
        mixUs,
        mixUs - oneUs,
        100 * (mixUs - oneUs) / 1000 / stepMs);
    sets.forEach(TokenDataset::close);
  }

  /**
   * Mean, not median: the mixture deals a block of slots once every 4096 positions, and that
   * counts.
   */
  private static double perStepMicros(SampleOrder order, int batch, int steps) {
    long sink = 0;
    long t0 = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      sink += Batch.from(order, (long) s * batch, batch).tokens()[0][0];
    }
    double us = (System.nanoTime() - t0) / 1e3 / steps;
    if (sink == Long.MIN_VALUE) {
      System.out.println(sink);
    }
    return us;
  }

  private static double median(double[] xs) {
    double[] c = xs.clone();
    Arrays.sort(c);
    return c[c.length / 2];
  }
}
