package io.sparkgpt.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Encode throughput, ours against jtokkit and HuggingFace tokenizers (Rust, through DJL), on the
 * whole shared corpus, single-threaded and with all threads, in one run. Every rival's ids are
 * first checked identical to ours. Prints a Markdown table of MB/s (median of the rounds) and the
 * ratios.
 *
 * <p>usage: TokenizerBench CORPUS_DIR [rounds=5] [threads=availableProcessors]
 */
public final class TokenizerBench {
  interface Encoder {
    long tokens(String text);
  }

  public static void main(String[] args) throws Exception {
    Path corpus = Path.of(args[0]);
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int threads =
        args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
    List<String> docs = documents(corpus);
    long bytes = docs.stream().mapToLong(d -> d.getBytes(StandardCharsets.UTF_8).length).sum();
    System.out.printf(
        Locale.ROOT,
        "corpus: %d documents, %.1f MB; %d rounds; %d threads%n%n",
        docs.size(),
        bytes / 1e6,
        rounds,
        threads);
    System.out.println(
        "| encoding | tokenizer | 1 thread MB/s | "
            + threads
            + " threads MB/s | ours / it (1 thread) | ours / it ("
            + threads
            + " threads) |");
    System.out.println("|---|---|---|---|---|---|");
    Path tmp = Files.createTempDirectory("tokbench");
    for (String name : List.of("r50k_base", "cl100k_base")) {
      Tokenizer ours = Tokenizers.load(name);
      var jtokkit =
          Encodings.newDefaultEncodingRegistry()
              .getEncoding(
                  name.equals("r50k_base") ? EncodingType.R50K_BASE : EncodingType.CL100K_BASE);
      Path json = tmp.resolve(name + ".json");
      Tokenizers.saveJson(ours, json);
      try (HuggingFaceTokenizer hf =
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(json)
              .optAddSpecialTokens(false)
              .optTruncation(false)
              .build()) {
        ThreadLocal<IntArray> buf = ThreadLocal.withInitial(() -> new IntArray(1 << 16));
        Encoder oursEnc =
            t -> {
              IntArray b = buf.get();
              b.clear();
              return ours.encode(t, b);
            };
        Encoder jtokkitEnc = t -> jtokkit.encodeOrdinary(t).size();
        Encoder hfEnc = t -> hf.encode(t).getIds().length;
        for (String d : docs) { // identical ids before any timing
          int[] o = ours.encode(d);
          IntArrayList j = jtokkit.encodeOrdinary(d);
          long[] h = hf.encode(d).getIds();
          if (!Arrays.equals(o, j.toArray())
              || !Arrays.equals(o, Arrays.stream(h).mapToInt(x -> (int) x).toArray())) {
            throw new AssertionError(
                name + ": ids differ on a document of " + d.length() + " chars");
          }
        }
        double[] o1 = mbps(docs, bytes, oursEnc, 1, rounds);
        double[] oN = mbps(docs, bytes, oursEnc, threads, rounds);
        for (var rival :
            List.of(
                new Object[] {"jtokkit 1.1.0", jtokkitEnc},
                new Object[] {"HF tokenizers (DJL 0.38)", hfEnc})) {
          double[] r1 = mbps(docs, bytes, (Encoder) rival[1], 1, rounds);
          double[] rN = mbps(docs, bytes, (Encoder) rival[1], threads, rounds);
          System.out.printf(
              Locale.ROOT,
              "| %s | %s | %.1f | %.1f | %.2fx | %.2fx |%n",
              name,
              rival[0],
              r1[0],
              rN[0],
              o1[0] / r1[0],
              oN[0] / rN[0]);
        }
        System.out.printf(
            Locale.ROOT, "| %s | **sparkgpt** | %.1f | %.1f | | |%n", name, o1[0], oN[0]);
      }
    }
  }

  /**
   * Median MB/s over the rounds (after one warm-up round), the documents split over the threads.
   */
  static double[] mbps(List<String> docs, long bytes, Encoder enc, int threads, int rounds)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      double[] results = new double[rounds];
      for (int r = -1; r < rounds; r++) {
        long t0 = System.nanoTime();
        List<Future<Long>> parts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int start = t;
          parts.add(
              pool.submit(
                  () -> {
                    long n = 0;
                    for (int i = start; i < docs.size(); i += threads) {
                      n += enc.tokens(docs.get(i));
                    }
                    return n;
                  }));
        }
        for (Future<Long> f : parts) {
          f.get();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (r >= 0) {
          results[r] = bytes / 1e6 / s;
        }
      }
      Arrays.sort(results);
      return new double[] {results[rounds / 2]};
    } finally {
      pool.shutdown();
    }
  }

  /** Every .txt file as one document and every string field of every .jsonl line as one. */
  static List<String> documents(Path dir) throws Exception {
    List<String> docs = new ArrayList<>();
    ObjectMapper mapper = new ObjectMapper();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        String n = f.getFileName().toString();
        if (n.endsWith(".txt")) {
          docs.add(Files.readString(f));
        } else if (n.endsWith(".jsonl")) {
          for (String line : Files.readAllLines(f)) {
            JsonNode node = mapper.readTree(line);
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
              JsonNode v = it.next();
              if (v.isTextual()) {
                docs.add(v.asText());
              }
            }
          }
        }
      }
    }
    return docs;
  }
}
