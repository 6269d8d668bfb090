package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our trainer against {@code spm_train --model_type=bpe} at the same vocabulary size, both lossless
 * (spm with byte fallback, no normalization, all characters): bytes per token on held-back lines
 * must be within 2% of SentencePiece's or better. Both train on the same lines and encode the same
 * held-back lines, line by line. The training times are printed for scripts/bench-tokenizer.sh,
 * never asserted (a test is no benchmark).
 */
class TrainerVsSentencePieceTest {

  /** The unit-test size: 8k vocabulary, ~3 MB of training lines. */
  @Test
  void vocab8kOn3MB(@TempDir Path dir) throws Exception {
    compare(8000, Lines.trainSample(4), dir);
  }

  /** 32k vocabulary on all ~12 MB of training lines (about 40 s, mostly spm_train). */
  @Test
  void vocab32kOnAllTrainingLines(@TempDir Path dir) throws Exception {
    compare(32000, Lines.train(), dir);
  }

  static void compare(int vocab, List<String> train, Path dir) throws Exception {
    Path input = dir.resolve("train.txt");
    Files.write(input, train);
    long trainBytes = Files.size(input);

    long t0 = System.nanoTime();
    PreTokenCounter counter = new PreTokenCounter(SplitPattern.GPT2);
    for (String line : train) {
      counter.add(line);
    }
    ByteLevelBpe ours = new BpeTrainer().vocabSize(vocab).trainBpe(counter.counts());
    double oursSeconds = (System.nanoTime() - t0) / 1e9;

    long t1 = System.nanoTime();
    Path model = SpmCli.train(input, dir.resolve("spm"), SpmCli.losslessBpe(vocab));
    double spmSeconds = (System.nanoTime() - t1) / 1e9;

    long bytes = 0, oursTokens = 0, spmTokens = 0;
    try (Tokenizer spm = Tokenizers.load(model.toString())) {
      for (String line : Lines.heldBack()) {
        bytes += line.getBytes(StandardCharsets.UTF_8).length;
        oursTokens += ours.encode(line).length;
        spmTokens += spm.encode(line).length;
      }
    }
    double oursBpt = (double) bytes / oursTokens, spmBpt = (double) bytes / spmTokens;
    System.out.printf(
        "vocab %d, %.1f MB training lines: ours %.3f bytes/token (train %.1f s), "
            + "spm_train bpe %.3f bytes/token (train %.1f s), ratio %.4f%n",
        vocab, trainBytes / 1e6, oursBpt, oursSeconds, spmBpt, spmSeconds, oursBpt / spmBpt);
    assertTrue(
        oursBpt >= 0.98 * spmBpt,
        String.format("ours %.3f vs spm %.3f bytes/token", oursBpt, spmBpt));
  }
}
