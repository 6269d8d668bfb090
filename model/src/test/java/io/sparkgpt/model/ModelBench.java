package io.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training-step benchmark: sparkgpt's explicit engine ({@link Gpt} + flat AdamW, through {@link
 * StepRunner}) against the PyTorch reference on the same configs, batch shapes and thread counts,
 * each measurement in its own process with {@code OMP_NUM_THREADS} set. Prints a Markdown table: ms
 * per step (median after a warm-up step), tokens/s, the ratio sparkgpt / PyTorch, peak resident
 * memory of each process, and model FLOPs utilisation ({@link GptConfig#trainFlopsPerToken} x
 * tokens/s) against a measured 1024^3 SGEMM peak of the same library at the same thread count.
 * Also: generation ms/token with the KV cache against PyTorch with a KV cache; with {@code
 * --profile} the per-kernel-group time of one step on both sides ({@link Gpt#profile}, {@code
 * torch.autograd.profiler}); with {@code --gemm} a GEMM microbenchmark of the step's shapes, ND4J
 * against PyTorch. {@code --jvm-opt X} passes a JVM option to the Java workers (e.g. {@code
 * -Dorg.bytedeco.openblas.load=...} to try another BLAS).
 *
 * <pre>
 * mvn -q -pl model -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp model/target/test-classes:model/target/classes:$(cat model/target/cp.txt) \
 *     io.sparkgpt.model.ModelBench [--configs tiny,small,gpt2-124m] [--threads 1,2] [--profile]
 *     [--gemm] [--no-generate | --generate-only] [--jvm-opt OPT] [--rounds N]
 * </pre>
 */
public final class ModelBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One benchmark case: preset, vocabulary, micro-batch, sequence length, timed steps. */
  record Case(String preset, int vocab, int batch, int seq, int steps) {
    GptConfig config() {
      return GptConfig.preset(preset, vocab);
    }
  }

  static Case caseFor(String preset) {
    return switch (preset) {
      case "tiny" -> new Case("tiny", 8192, 8, 128, 8);
      case "small" -> new Case("small", 8192, 8, 256, 5);
      case "gpt2-124m" -> new Case("gpt2-124m", 50257, 1, 1024, 2);
      default -> throw new IllegalArgumentException(preset);
    };
  }

  public static void main(String[] args) throws Exception {
    SystemBlas.prefer(); // as the launcher: before ND4J loads (-Dsparkgpt.blas=bundled: ND4J's own)
    if (args.length > 0 && args[0].equals("--worker")) {
      worker(args[1], Integer.parseInt(args[2]), Boolean.parseBoolean(args[3]));
      return;
    }
    if (args.length > 0 && args[0].equals("--generate-worker")) {
      generateWorker(args[1], Integer.parseInt(args[2]));
      return;
    }
    if (args.length > 0 && args[0].equals("--gemm-worker")) {
      gemmWorker(args[1], Integer.parseInt(args[2]));
      return;
    }
    List<String> configs = List.of("tiny", "small", "gpt2-124m");
    List<Integer> threads = List.of(1, 2);
    boolean gen = true, steps = true, profile = false, gemm = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--configs" -> configs = Arrays.asList(args[++i].split(","));
        case "--threads" ->
            threads = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
        case "--no-generate" -> gen = false;
        case "--generate-only" -> steps = false;
        case "--profile" -> profile = true;
        case "--gemm" -> gemm = true;
        case "--jvm-opt" -> JVM_OPTS.add(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    String python = PytorchParityTest.python();
    Path work = Files.createTempDirectory("sparkgpt-bench");
    if (gemm) {
      gemmTable(configs, threads, python, work);
    }
    if (steps) {
      stepTable(configs, threads, profile, python, work);
    }
    if (gen) {
      generationTable(configs, threads, python, work);
    }
  }

  /** PyTorch's step line for a cell, or null without PyTorch. */
  private static JsonNode torchStep(
      String python, Path work, Path cfgFile, Case c, int t, boolean profile) throws Exception {
    if (python == null) {
      return null;
    }
    List<String> a =
        new ArrayList<>(
            List.of(
                "bench", cfgFile.toString(), "" + c.batch(), "" + c.seq(), "" + c.steps(), "" + t));
    if (profile) {
      a.add("--profile");
    }
    return lastJsonLine(PytorchParityTest.run(python, work, a, t, 1800));
  }

  /** The training-step table (and the per-kernel profiles with {@code profile}). */
  static void stepTable(
      List<String> configs, List<Integer> threads, boolean profile, String python, Path work)
      throws Exception {
    StringBuilder table = new StringBuilder();
    table.append(
        "| config | params | V | B x T | threads | sparkgpt ms/step | sparkgpt tok/s | PyTorch ms/step "
            + "| PyTorch tok/s | sparkgpt / PyTorch | peak RSS MB sparkgpt / PyTorch | MFU sparkgpt | MFU PyTorch "
            + "| SGEMM peak GFLOP/s ND4J / torch |\n");
    table.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    StringBuilder profiles = new StringBuilder();
    String blas = null;
    for (String preset : configs) {
      Case c = caseFor(preset);
      GptConfig cfg = c.config();
      double flopsPerTok = cfg.trainFlopsPerToken(c.seq());
      Path cfgFile = work.resolve(preset + ".json");
      Files.write(cfgFile, JSON.writeValueAsBytes(cfg));
      for (int t : threads) {
        StringBuilder range = new StringBuilder();
        Round round =
            medianRound(
                () -> {
                  JsonNode jr =
                      runJava(
                          new String[] {
                            "--worker", preset, Integer.toString(t), Boolean.toString(profile)
                          },
                          t);
                  JsonNode pr = torchStep(python, work, cfgFile, c, t, profile);
                  return new Round(
                      jr,
                      pr,
                      pr == null
                          ? 0
                          : jr.get("ms_per_step").asDouble() / pr.get("ms_per_step").asDouble());
                },
                range);
        JsonNode j = round.ours(), p = round.torch();
        blas = j.path("blas").asText();
        if (profile) {
          profiles.append(
              String.format(
                  Locale.ROOT,
                  "%s, %d threads: sparkgpt %s%n    PyTorch %s%n",
                  preset,
                  t,
                  j.get("profile_ms"),
                  p == null ? "n/a" : p.get("profile_ms")));
        }
        double jms = j.get("ms_per_step").asDouble(),
            jtok = j.get("tokens_per_s").asDouble(),
            jpeak = j.get("gemm_gflops").asDouble();
        String row =
            String.format(
                Locale.ROOT,
                "| %s | %.1fM | %d | %d x %d | %d | %.0f | %,.0f | %s | %s | %s | %s | %.1f%% | %s | %.0f / %s |",
                preset,
                cfg.parameterCount() / 1e6,
                cfg.vocabSize(),
                c.batch(),
                c.seq(),
                t,
                jms,
                jtok,
                p == null
                    ? "n/a"
                    : String.format(Locale.ROOT, "%.0f", p.get("ms_per_step").asDouble()),
                p == null
                    ? "n/a"
                    : String.format(Locale.ROOT, "%,.0f", p.get("tokens_per_s").asDouble()),
                p == null
                    ? "n/a"
                    : String.format(Locale.ROOT, "%.2fx", jms / p.get("ms_per_step").asDouble())
                        + range,
                String.format(
                    Locale.ROOT,
                    "%.0f / %s",
                    j.get("peak_rss_mb").asDouble(),
                    p == null
                        ? "n/a"
                        : String.format(Locale.ROOT, "%.0f", p.get("peak_rss_mb").asDouble())),
                100 * flopsPerTok * jtok / (jpeak * 1e9),
                p == null
                    ? "n/a"
                    : String.format(
                        Locale.ROOT,
                        "%.1f%%",
                        100
                            * flopsPerTok
                            * p.get("tokens_per_s").asDouble()
                            / (p.get("gemm_gflops").asDouble() * 1e9)),
                jpeak,
                p == null
                    ? "n/a"
                    : String.format(Locale.ROOT, "%.0f", p.get("gemm_gflops").asDouble()));
        System.out.println(row);
        table.append(row).append('\n');
      }
    }
    System.out.println();
    System.out.println(table);
    System.out.println("sparkgpt's OpenBLAS: " + blas + "\n");
    System.out.print(profiles);
  }

  /** PyTorch's KV-cache ms per generated token for a cell, or null without PyTorch. */
  private static Double torchGenerate(String python, Path work, String preset, int tokens, int t)
      throws Exception {
    if (python == null) {
      return null;
    }
    Path dir = work.resolve("gen-" + preset);
    if (!Files.isDirectory(dir)) {
      GptConfig cfg = caseFor(preset).config();
      Checkpoint.save(dir, cfg, GptModel.initParams(cfg, 1), null, null, null);
    }
    Files.writeString(
        dir.resolve("generate.json"),
        "{\"prompt\": "
            + Arrays.toString(prompt(caseFor(preset).config()))
            + ", \"max_new_tokens\": "
            + tokens
            + ", \"threads\": "
            + t
            + "}");
    return lastJsonLine(
            PytorchParityTest.run(python, work, List.of("generate", dir.toString()), t, 1800))
        .get("ms_per_token")
        .asDouble();
  }

  /**
   * Generation ms/token with the KV cache against PyTorch's, greedy, each cell in fresh processes.
   */
  static void generationTable(List<String> configs, List<Integer> threads, String python, Path work)
      throws Exception {
    StringBuilder gt =
        new StringBuilder(
            "| config | threads | tokens | sparkgpt KV-cache ms/token | PyTorch KV-cache ms/token "
                + "| sparkgpt / PyTorch | sparkgpt no cache early / late |\n|---|---|---|---|---|---|---|\n");
    for (String preset : configs) {
      for (int t : threads) {
        StringBuilder range = new StringBuilder();
        Round round =
            medianRound(
                () -> {
                  JsonNode gr =
                      runJava(new String[] {"--generate-worker", preset, Integer.toString(t)}, t);
                  Double ms = torchGenerate(python, work, preset, gr.get("tokens").asInt(), t);
                  return new Round(
                      gr,
                      ms == null ? null : JSON.createObjectNode().put("ms_per_token", ms),
                      ms == null ? 0 : gr.get("kv_cache_ms_per_token_median").asDouble() / ms);
                },
                range);
        JsonNode g = round.ours();
        Double torchMs =
            round.torch() == null ? null : round.torch().get("ms_per_token").asDouble();
        double jms = g.get("kv_cache_ms_per_token_median").asDouble();
        String row =
            String.format(
                Locale.ROOT,
                "| %s | %d | %d | %.1f | %s | %s | %.1f / %.1f |",
                preset,
                t,
                g.get("tokens").asInt(),
                jms,
                torchMs == null ? "n/a" : String.format(Locale.ROOT, "%.1f", torchMs),
                torchMs == null
                    ? "n/a"
                    : String.format(Locale.ROOT, "%.2fx", jms / torchMs) + range,
                g.get("no_cache_ms_per_token_early").asDouble(),
                g.get("no_cache_ms_per_token_late").asDouble());
        System.out.println(row);
        System.out.println("decode profile, ms/token: " + g.get("decode_profile_ms_per_token"));
        gt.append(row).append('\n');
      }
    }
    System.out.println();
    System.out.println(gt);
  }

  private static final List<String> JVM_OPTS = new ArrayList<>();

  private static int rounds = 1;

  /** One round of a cell: sparkgpt's and PyTorch's result lines (PyTorch's null without it). */
  private record Round(JsonNode ours, JsonNode torch, double ratio) {}

  /**
   * Runs {@code round} {@link #rounds} times and returns the round of median ratio, with the
   * ratios' range appended to {@code range} when there is more than one.
   */
  private static Round medianRound(RoundRunner round, StringBuilder range) throws Exception {
    List<Round> all = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      all.add(round.run());
    }
    all.sort(java.util.Comparator.comparingDouble(Round::ratio));
    if (all.size() > 1 && all.get(0).torch() != null) {
      range.append(
          String.format(
              Locale.ROOT,
              " (%.2f-%.2fx in %d rounds)",
              all.get(0).ratio(),
              all.get(all.size() - 1).ratio(),
              all.size()));
    }
    return all.get(all.size() / 2);
  }

  @FunctionalInterface
  private interface RoundRunner {
    Round run() throws Exception;
  }

  /**
   * GEMM shapes of one training step of a preset: (M, K, N, transA, transB) of the forward and
   * backward products.
   */
  static List<int[]> stepGemms(Case c) {
    GptConfig cfg = c.config();
    int n = c.batch() * c.seq(), d = cfg.dModel(), f = cfg.mlpWidth(), v = cfg.vocabSize();
    List<int[]> s = new ArrayList<>();
    for (int[] io : new int[][] {{d, 3 * d}, {d, d}, {d, f}, {f, d}}) {
      s.add(new int[] {n, io[0], io[1], 0, 0}); // forward: x @ W
      s.add(new int[] {n, io[1], io[0], 0, 1}); // backward: dy @ W^T
      s.add(new int[] {io[0], n, io[1], 1, 0}); // backward: x^T @ dy
    }
    s.add(new int[] {n, d, v, 0, 1}); // logits = x @ wte^T
    s.add(new int[] {n, v, d, 0, 0}); // dx = dlogits @ wte
    s.add(new int[] {v, n, d, 1, 0}); // dwte = dlogits^T @ x
    return s;
  }

  static void gemmTable(List<String> configs, List<Integer> threads, String python, Path work)
      throws Exception {
    StringBuilder t =
        new StringBuilder(
            "| config | threads | M x K x N (tA, tB) | ND4J GFLOP/s | PyTorch GFLOP/s | ND4J / PyTorch |\n"
                + "|---|---|---|---|---|---|\n");
    for (String preset : configs) {
      List<int[]> shapes = stepGemms(caseFor(preset));
      for (int th : threads) {
        JsonNode j = runJava(new String[] {"--gemm-worker", preset, Integer.toString(th)}, th);
        JsonNode p = null;
        if (python != null) {
          String out =
              PytorchParityTest.run(
                  python,
                  work,
                  List.of("gemm", JSON.writeValueAsString(shapes), "" + th),
                  th,
                  1800);
          p = lastJsonLine(out).get("gflops");
        }
        for (int i = 0; i < shapes.size(); i++) {
          int[] g = shapes.get(i);
          double jg = j.get("gflops").get(i).asDouble();
          t.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %d | %d x %d x %d (%s, %s) | %.1f | %s | %s |%n",
                  preset,
                  th,
                  g[0],
                  g[1],
                  g[2],
                  g[3] == 1 ? "T" : "N",
                  g[4] == 1 ? "T" : "N",
                  jg,
                  p == null ? "n/a" : String.format(Locale.ROOT, "%.1f", p.get(i).asDouble()),
                  p == null
                      ? "n/a"
                      : String.format(Locale.ROOT, "%.2fx", jg / p.get(i).asDouble())));
        }
      }
    }
    System.out.println(t);
  }

  /**
   * ND4J GFLOP/s of each of the step's GEMM shapes (Nd4j.gemm into a preallocated output, median of
   * ~1 s).
   */
  static void gemmWorker(String preset, int threads) throws IOException {
    Trainer.applyThreads(threads);
    List<Double> out = new ArrayList<>();
    for (int[] g : stepGemms(caseFor(preset))) {
      INDArray a =
          g[3] == 1 ? Nd4j.rand(DataType.FLOAT, g[1], g[0]) : Nd4j.rand(DataType.FLOAT, g[0], g[1]);
      INDArray b =
          g[4] == 1 ? Nd4j.rand(DataType.FLOAT, g[2], g[1]) : Nd4j.rand(DataType.FLOAT, g[1], g[2]);
      INDArray c = Nd4j.create(DataType.FLOAT, g[0], g[2]);
      Nd4j.gemm(a, b, c, g[3] == 1, g[4] == 1, 1.0, 0.0);
      List<Double> times = new ArrayList<>();
      long end = System.nanoTime() + 1_000_000_000L;
      while (System.nanoTime() < end || times.size() < 3) {
        long t0 = System.nanoTime();
        Nd4j.gemm(a, b, c, g[3] == 1, g[4] == 1, 1.0, 0.0);
        times.add((System.nanoTime() - t0) / 1e9);
      }
      times.sort(null);
      out.add(2.0 * g[0] * g[1] * g[2] / times.get(times.size() / 2) / 1e9);
    }
    System.out.println(JSON.writeValueAsString(Map.of("gflops", out)));
  }

  /** Peak resident set size of this process (VmHWM), MB. */
  static double peakRssMb() throws IOException {
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("VmHWM:")) {
        return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return Double.NaN;
  }

  static int[] prompt(GptConfig cfg) {
    int[] prompt = new int[16];
    Random r = new Random(1);
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = r.nextInt(cfg.vocabSize());
    }
    return prompt;
  }

  /**
   * Runs this class in a fresh JVM with OMP_NUM_THREADS and returns the JSON line it prints last.
   */
  static JsonNode runJava(String[] args, int threads) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx6g");
    cmd.add("-Dorg.bytedeco.javacpp.maxbytes=14G");
    cmd.add("-Dorg.bytedeco.javacpp.maxphysicalbytes=18G");
    cmd.addAll(JVM_OPTS);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(ModelBench.class.getName());
    cmd.addAll(Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
    Trainer.NATIVE_ENV.forEach(pb.environment()::putIfAbsent); // as the launcher; PyTorch's as is
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(1800, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("benchmark worker failed:\n" + out);
    }
    return lastJsonLine(out);
  }

  /** The last JSON line a worker (Java or PyTorch) printed: its result. */
  static JsonNode lastJsonLine(String out) throws IOException {
    return JSON.readTree(
        out.lines()
            .filter(l -> l.startsWith("{"))
            .reduce((a, b) -> b)
            .orElseThrow(() -> new IOException("no result line in:\n" + out)));
  }

  /**
   * Measures training steps of one case in this process ({@link StepRunner} on {@link Gpt}); with
   * {@code profile} one more step with the kernel timers on.
   */
  static void worker(String preset, int threads, boolean profile) throws IOException {
    Trainer.applyThreads(threads);
    Case c = caseFor(preset);
    GptConfig cfg = c.config();
    LrSchedule schedule = new LrSchedule(1e-3, 1e-4, 10, 100);
    StepRunner runner = new StepRunner(cfg, c.seq(), AdamW.Hyper.defaults(), schedule, 1.0);
    Map<String, INDArray> params = runner.own(GptModel.initParams(cfg, 1));
    AdamW.State opt = runner.own(AdamW.State.zeros(params));
    Batch batch = Batch.of(TestData.randomTokens(c.batch(), c.seq(), cfg.vocabSize(), 1));
    double[] ms = new double[c.steps() + 1];
    for (int s = 0; s <= c.steps(); s++) {
      ms[s] = runner.step(params, opt, List.of(batch), 0).millis();
    }
    double[] timed = Arrays.copyOfRange(ms, 1, ms.length);
    Arrays.sort(timed);
    double med = timed[timed.length / 2];
    Map<String, Object> out =
        new java.util.LinkedHashMap<>(
            Map.of(
                "ms_per_step",
                med,
                "tokens_per_s",
                c.batch() * c.seq() / (med / 1000),
                "first_step_ms",
                ms[0],
                "threads",
                threads,
                "nd4j_threads",
                Nd4j.getEnvironment().maxMasterThreads(),
                "peak_rss_mb",
                peakRssMb()));
    if (profile) {
      Gpt gpt = runner.engine();
      gpt.profile(true);
      gpt.resetProfile();
      double wall = runner.step(params, opt, List.of(batch), 0).millis();
      Map<String, Object> groups = new java.util.LinkedHashMap<>();
      double sum = 0;
      for (Map.Entry<Gpt.Kernel, Double> e : gpt.profileMillis().entrySet()) {
        groups.put(
            e.getKey().name().toLowerCase(Locale.ROOT), Math.round(e.getValue() * 10) / 10.0);
        sum += e.getValue();
      }
      groups.put("overhead", Math.round((wall - sum) * 10) / 10.0);
      groups.put("wall_profiled", Math.round(wall * 10) / 10.0);
      out.put("profile_ms", groups);
    }
    out.put("gemm_gflops", sgemmPeak());
    out.put("blas", SystemBlas.loaded());
    System.out.println(JSON.writeValueAsString(out));
  }

  /** 1024^3 SGEMM GFLOP/s with ND4J at the current thread setting, over about a second. */
  static double sgemmPeak() {
    int n = 1024;
    INDArray a = Nd4j.rand(DataType.FLOAT, n, n),
        b = Nd4j.rand(DataType.FLOAT, n, n),
        c = Nd4j.create(DataType.FLOAT, n, n);
    a.mmuli(b, c);
    long t0 = System.nanoTime();
    int reps = 0;
    while (System.nanoTime() - t0 < 1_000_000_000L) {
      a.mmuli(b, c);
      reps++;
    }
    return 2.0 * n * n * n * reps / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  /** Generation speed with and without the KV cache (median, early and late per-token times). */
  static void generateWorker(String preset, int threads) throws IOException {
    Trainer.applyThreads(threads);
    Case c = caseFor(preset);
    GptConfig cfg = c.config();
    Map<String, INDArray> params = GptModel.initParams(cfg, 1);
    int[] prompt = prompt(cfg);
    int n = Math.min(cfg.blockSize() - prompt.length, preset.equals("gpt2-124m") ? 64 : 96);
    Generator.Sampling cached = new Generator.Sampling(n, 0, 0, 1, 0, true);
    Generator.Sampling uncached = new Generator.Sampling(n, 0, 0, 1, 0, false);
    Generator.generateIds(
        cfg, params, prompt, new Generator.Sampling(4, 0, 0, 1, 0, true), -1); // warm-up
    // per-token time early (first n/4 tokens) and late (last n/4) in each mode
    double[] withCache = perTokenEarlyLate(cfg, params, prompt, cached, n);
    double[] without = perTokenEarlyLate(cfg, params, prompt, uncached, n);
    Map<String, Object> out =
        new java.util.LinkedHashMap<>(
            Map.of(
                "tokens",
                n,
                "kv_cache_ms_per_token_median",
                withCache[2],
                "kv_cache_ms_per_token_early",
                withCache[0],
                "kv_cache_ms_per_token_late",
                withCache[1],
                "no_cache_ms_per_token_early",
                without[0],
                "no_cache_ms_per_token_late",
                without[1]));
    out.put("decode_profile_ms_per_token", decodeProfile(cfg, params, prompt, n));
    System.out.println(JSON.writeValueAsString(out));
  }

  /**
   * Per-kernel-group time of cached one-token decode steps ({@link Gpt#profile}), ms per token,
   * "other" the rest of the wall time: of three rounds of n tokens the fastest (on a loaded machine
   * single rounds catch long pauses).
   */
  private static Map<String, Double> decodeProfile(
      GptConfig cfg, Map<String, INDArray> params, int[] prompt, int n) {
    Map<String, Double> best = null;
    for (int round = 0; round < 3; round++) {
      Decoder dec = new Decoder(cfg, params, true);
      dec.forward(prompt);
      Gpt gpt = dec.engine();
      gpt.profile(true);
      gpt.resetProfile();
      long t0 = System.nanoTime();
      try (Decoder.BlasThreads oneThread = Decoder.oneBlasThread(cfg)) { // as Generator does
        for (int i = 0; i < n; i++) {
          dec.forward(new int[] {1 + i % (cfg.vocabSize() - 1)});
        }
      }
      double wall = (System.nanoTime() - t0) / 1e6;
      Map<String, Double> groups = new java.util.LinkedHashMap<>();
      double sum = 0;
      for (Map.Entry<Gpt.Kernel, Double> e : gpt.profileMillis().entrySet()) {
        if (e.getValue() > 0) {
          groups.put(
              e.getKey().name().toLowerCase(Locale.ROOT),
              Math.round(e.getValue() / n * 100) / 100.0);
          sum += e.getValue();
        }
      }
      groups.put("other", Math.round((wall - sum) / n * 100) / 100.0);
      groups.put("wall", Math.round(wall / n * 100) / 100.0);
      if (best == null || groups.get("wall") < best.get("wall")) {
        best = groups;
      }
    }
    return best;
  }

  private static double[] perTokenEarlyLate(
      GptConfig cfg, Map<String, INDArray> params, int[] prompt, Generator.Sampling s, int n) {
    Decoder dec = new Decoder(cfg, params, s.useCache());
    dec.forward(prompt);
    double[] t = new double[n];
    int next = 1;
    try (Decoder.BlasThreads oneThread = Decoder.oneBlasThread(cfg)) { // as Generator does
      for (int i = 0; i < n; i++) {
        long t0 = System.nanoTime();
        INDArray logits = dec.forward(new int[] {next});
        t[i] = (System.nanoTime() - t0) / 1e6; // the model call only, as the reference times it
        next = Math.floorMod(logits.argMax().getInt(0), cfg.vocabSize());
      }
    }
    int q = Math.max(1, n / 4);
    double[] sorted = t.clone();
    Arrays.sort(sorted);
    return new double[] {
      Arrays.stream(t, 0, q).average().orElse(0),
      Arrays.stream(t, n - q, n).average().orElse(0),
      sorted[n / 2]
    };
  }
}
