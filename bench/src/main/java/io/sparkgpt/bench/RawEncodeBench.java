package io.sparkgpt.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The tokenizer's raw single-thread encode speed on the documents of JSONL files (text already in
 * memory), the baseline that `sparkgpt tokenize` is compared with. Prints one line: MB, tokens,
 * seconds, MB/s, tokens/s (median of the rounds after a warm-up round), the same per second of the
 * thread's CPU time (what a loaded machine does not distort), and the speed of that first, cold
 * round: a job that encodes each document once runs while the JIT is still compiling the encoder.
 *
 * <p>usage: RawEncodeBench TOKENIZER ROUNDS FILE.jsonl...
 */
public final class RawEncodeBench {
  public static void main(String[] args) throws Exception {
    Tokenizer tok = Tokenizers.load(args[0]);
    int rounds = Integer.parseInt(args[1]);
    ObjectMapper json = new ObjectMapper();
    List<String> docs = new ArrayList<>();
    long bytes = 0;
    for (int i = 2; i < args.length; i++) {
      try (BufferedReader r = Files.newBufferedReader(Path.of(args[i]), StandardCharsets.UTF_8)) {
        for (String line; (line = r.readLine()) != null; ) {
          String text = json.readTree(line).get("text").asText();
          docs.add(text);
          bytes += text.getBytes(StandardCharsets.UTF_8).length;
        }
      }
    }
    IntArray buf = new IntArray(1 << 16);
    double[] seconds = new double[rounds];
    double[] cpuSeconds = new double[rounds];
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    double coldSeconds = 0;
    long tokens = 0;
    for (int round = -1; round < rounds; round++) {
      long t0 = System.nanoTime();
      long c0 = threads.getCurrentThreadCpuTime();
      tokens = 0;
      for (String d : docs) {
        buf.clear();
        tokens += tok.encode(d, buf) + 1; // + end-of-text, as the dataset stores it
      }
      if (round >= 0) {
        seconds[round] = (System.nanoTime() - t0) / 1e9;
        cpuSeconds[round] = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
      } else {
        coldSeconds = (System.nanoTime() - t0) / 1e9;
      }
    }
    java.util.Arrays.sort(seconds);
    java.util.Arrays.sort(cpuSeconds);
    double s = seconds[rounds / 2];
    double cpu = cpuSeconds[rounds / 2];
    System.out.printf(
        Locale.ROOT,
        "raw encode: %d documents, %.1f MB, %,d tokens, %.2f s, %.2f MB/s, %.0f tokens/s;"
            + " cold first pass %.2f MB/s; per CPU second %.2f MB/s, %.0f tokens/s%n",
        docs.size(),
        bytes / 1e6,
        tokens,
        s,
        bytes / 1e6 / s,
        tokens / s,
        bytes / 1e6 / coldSeconds,
        bytes / 1e6 / cpu,
        tokens / cpu);
  }
}
