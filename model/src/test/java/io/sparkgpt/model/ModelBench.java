package io.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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

/**
 * Training-step benchmark: sparkgpt (SameDiff + AdamW) against the PyTorch reference on the same configs, batch
 * shapes and thread counts, each measurement in its own process with {@code OMP_NUM_THREADS} set. Prints a
 * Markdown table: ms per step (median after a warm-up step), tokens/s, the ratio sparkgpt / PyTorch, and model
 * FLOPs utilisation ({@link GptConfig#trainFlopsPerToken} x tokens/s) against a measured 1024^3 SGEMM peak of the
 * same library at the same thread count. Also measures generation with and without the KV cache.
 *
 * <pre>
 * mvn -q -pl model -am test-compile
 * mvn -q -pl model dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp model/target/test-classes:model/target/classes:tokenizer/target/classes:$(cat /tmp/cp.txt) \
 *     io.sparkgpt.model.ModelBench [--configs tiny,small,gpt2-124m] [--threads 1,2]
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
        if (args.length > 0 && args[0].equals("--worker")) {
            worker(args[1], Integer.parseInt(args[2]));
            return;
        }
        if (args.length > 0 && args[0].equals("--generate-worker")) {
            generateWorker(args[1]);
            return;
        }
        List<String> configs = List.of("tiny", "small", "gpt2-124m");
        List<Integer> threads = List.of(1, 2);
        boolean gen = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--configs" -> configs = Arrays.asList(args[++i].split(","));
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--no-generate" -> gen = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        String python = PytorchParityTest.python();
        Path work = Files.createTempDirectory("sparkgpt-bench");
        StringBuilder table = new StringBuilder();
        table.append("| config | params | V | B x T | threads | sparkgpt ms/step | sparkgpt tok/s | PyTorch ms/step | PyTorch tok/s "
                + "| sparkgpt / PyTorch | MFU sparkgpt | MFU PyTorch | SGEMM peak GFLOP/s ND4J / torch |\n");
        table.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String preset : configs) {
            Case c = caseFor(preset);
            GptConfig cfg = c.config();
            double flopsPerTok = cfg.trainFlopsPerToken(c.seq());
            Path cfgFile = work.resolve(preset + ".json");
            Files.write(cfgFile, JSON.writeValueAsBytes(cfg));
            for (int t : threads) {
                JsonNode j = runJava(new String[]{"--worker", preset, Integer.toString(t)}, t);
                JsonNode p = null;
                if (python != null) {
                    String out = PytorchParityTest.run(python, work, List.of("bench", cfgFile.toString(), "" + c.batch(), "" + c.seq(),
                            "" + c.steps(), "" + t), t, 1800);
                    p = JSON.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow());
                }
                double jms = j.get("ms_per_step").asDouble(), jtok = j.get("tokens_per_s").asDouble(), jpeak = j.get("gemm_gflops").asDouble();
                String row = String.format(Locale.ROOT, "| %s | %.1fM | %d | %d x %d | %d | %.0f | %,.0f | %s | %s | %s | %.1f%% | %s | %.0f / %s |",
                        preset, cfg.parameterCount() / 1e6, cfg.vocabSize(), c.batch(), c.seq(), t, jms, jtok,
                        p == null ? "n/a" : String.format(Locale.ROOT, "%.0f", p.get("ms_per_step").asDouble()),
                        p == null ? "n/a" : String.format(Locale.ROOT, "%,.0f", p.get("tokens_per_s").asDouble()),
                        p == null ? "n/a" : String.format(Locale.ROOT, "%.2fx", jms / p.get("ms_per_step").asDouble()),
                        100 * flopsPerTok * jtok / (jpeak * 1e9),
                        p == null ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * flopsPerTok * p.get("tokens_per_s").asDouble()
                                / (p.get("gemm_gflops").asDouble() * 1e9)),
                        jpeak, p == null ? "n/a" : String.format(Locale.ROOT, "%.0f", p.get("gemm_gflops").asDouble()));
                System.out.println(row);
                table.append(row).append('\n');
            }
        }
        System.out.println();
        System.out.println(table);
        if (gen) {
            for (String preset : configs) {
                JsonNode g = runJava(new String[]{"--generate-worker", preset}, threads.get(threads.size() - 1));
                System.out.printf(Locale.ROOT, "generation %s (%d threads): %s%n", preset, threads.get(threads.size() - 1), g);
            }
        }
    }

    /** Runs this class in a fresh JVM with OMP_NUM_THREADS and returns the JSON line it prints last. */
    static JsonNode runJava(String[] args, int threads) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx6g");
        cmd.add("-Dorg.bytedeco.javacpp.maxbytes=14G");
        cmd.add("-Dorg.bytedeco.javacpp.maxphysicalbytes=18G");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ModelBench.class.getName());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(1800, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("benchmark worker failed:\n" + out);
        }
        return JSON.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow(() -> new IOException(out)));
    }

    /** Measures training steps of one case in this process. */
    static void worker(String preset, int threads) throws IOException {
        Trainer.applyThreads(threads);
        Case c = caseFor(preset);
        GptConfig cfg = c.config();
        Map<String, INDArray> params = GptModel.initParams(cfg, 1);
        AdamW.State opt = AdamW.State.zeros(params);
        StepRunner runner = new StepRunner(cfg, c.seq(), AdamW.Hyper.defaults(), new LrSchedule(1e-3, 1e-4, 10, 100), 1.0);
        Batch batch = Batch.of(TestData.randomTokens(c.batch(), c.seq(), cfg.vocabSize(), 1));
        double[] ms = new double[c.steps() + 1];
        for (int s = 0; s <= c.steps(); s++) {
            ms[s] = runner.step(params, opt, List.of(batch), 0).millis();
        }
        double[] timed = Arrays.copyOfRange(ms, 1, ms.length);
        Arrays.sort(timed);
        double med = timed[timed.length / 2];
        System.out.println(JSON.writeValueAsString(Map.of("ms_per_step", med, "tokens_per_s", c.batch() * c.seq() / (med / 1000),
                "gemm_gflops", sgemmPeak(), "first_step_ms", ms[0], "threads", threads,
                "nd4j_threads", Nd4j.getEnvironment().maxMasterThreads())));
    }

    /** 1024^3 SGEMM GFLOP/s with ND4J at the current thread setting, over about a second. */
    static double sgemmPeak() {
        int n = 1024;
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n), b = Nd4j.rand(DataType.FLOAT, n, n), c = Nd4j.create(DataType.FLOAT, n, n);
        a.mmuli(b, c);
        long t0 = System.nanoTime();
        int reps = 0;
        while (System.nanoTime() - t0 < 1_000_000_000L) {
            a.mmuli(b, c);
            reps++;
        }
        return 2.0 * n * n * n * reps / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }

    /** Generation speed with and without the KV cache at two context lengths. */
    static void generateWorker(String preset) throws IOException {
        Case c = caseFor(preset);
        GptConfig cfg = c.config();
        Map<String, INDArray> params = GptModel.initParams(cfg, 1);
        int[] prompt = new int[16];
        Random r = new Random(1);
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = r.nextInt(cfg.vocabSize());
        }
        int n = Math.min(cfg.blockSize() - prompt.length, preset.equals("gpt2-124m") ? 64 : 96);
        Generator.Sampling cached = new Generator.Sampling(n, 0, 0, 1, 0, true);
        Generator.Sampling uncached = new Generator.Sampling(n, 0, 0, 1, 0, false);
        Generator.generateIds(cfg, params, prompt, new Generator.Sampling(4, 0, 0, 1, 0, true), -1);   // warm-up
        // per-token time early (first n/4 tokens) and late (last n/4) in each mode
        double[] withCache = perTokenEarlyLate(cfg, params, prompt, cached, n);
        double[] without = perTokenEarlyLate(cfg, params, prompt, uncached, n);
        System.out.println(JSON.writeValueAsString(Map.of("tokens", n,
                "kv_cache_ms_per_token_early", withCache[0], "kv_cache_ms_per_token_late", withCache[1],
                "no_cache_ms_per_token_early", without[0], "no_cache_ms_per_token_late", without[1])));
    }

    private static double[] perTokenEarlyLate(GptConfig cfg, Map<String, INDArray> params, int[] prompt, Generator.Sampling s, int n) {
        Decoder dec = new Decoder(cfg, params, s.useCache());
        dec.forward(prompt);
        double[] t = new double[n];
        int next = 1;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            next = Math.floorMod(dec.forward(new int[]{next}).argMax().getInt(0), cfg.vocabSize());
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        int q = Math.max(1, n / 4);
        return new double[]{Arrays.stream(t, 0, q).average().orElse(0), Arrays.stream(t, n - q, n).average().orElse(0)};
    }
}
