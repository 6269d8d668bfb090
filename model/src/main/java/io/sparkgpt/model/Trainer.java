package io.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Single-process training on a token dataset: the loop that {@code pretrain --workers 1} runs.
 *
 * <pre>{@code
 * try (TokenDataset ds = TokenDataset.open(Path.of("data/tok"))) {
 *     GptConfig model = GptConfig.preset("tiny", ds.vocabSize());
 *     TrainConfig tc = TrainConfig.defaults(model).withSteps(2000, 100);
 *     Trainer.Result r = Trainer.train(tc, ds, Path.of("runs/tiny"), System.out::println);
 * }
 * }</pre>
 *
 * <p>Run folder: {@code metrics.jsonl} (one JSON object per step: step, tokens, loss, lr, grad_norm, ms,
 * tokens_per_s; and per evaluation: step, tokens, val_loss), {@code loss.png} (train and validation loss against
 * tokens), {@code checkpoint/} (the latest {@link Checkpoint}, replaced atomically). With
 * {@link TrainConfig#resume()} a run continues from {@code checkpoint/}: same parameters, optimiser moments, step
 * and data position, so the loss curve continues as if uninterrupted.
 *
 * <p>Data order: the sample at global position {@code pos = (step * grad_accum + micro) * micro_batch + i} is
 * {@code perm_e[pos mod n]} with {@code e = pos / n} and {@code perm_e = SampleReader.permutation(n, e, data_seed)}
 * over the {@code train} split. Validation uses the first {@code eval_batches * micro_batch} samples of
 * {@code val} in order. On a blend of datasets ({@link DataBlend}, {@link io.sparkgpt.tokenizer.dataset.Mixture})
 * the position first picks the source, and {@code metrics.jsonl} adds {@code tokens_per_source}.
 */
public final class Trainer {
    public static final String METRICS = "metrics.jsonl";
    public static final String PLOT = "loss.png";
    public static final String CHECKPOINT = Checkpoint.CURRENT;
    /** Step folders kept under {@code RUN_DIR/checkpoints}. */
    public static final int KEEP_CHECKPOINTS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Trainer() {
    }

    /** What a run did in this call (steps run here; {@code firstStep} is the step it resumed from). */
    public record Result(long firstStep, long steps, List<Double> trainLosses, Double lastValLoss, long tokensSeen,
                         double meanMsPerStep, Path checkpoint) {
    }

    /** Sets ND4J's thread counts (0 leaves them). */
    public static void applyThreads(int threads) {
        if (threads > 0) {
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
    }

    public static Result train(TrainConfig tc, TokenDataset ds, Path runDir, Consumer<String> log) throws IOException {
        return train(tc, ds, runDir, false, log);
    }

    /**
     * @param allowConfigChange resume even when the run's settings differ from the checkpoint's (the change is
     *                          logged and written to {@code metrics.jsonl}); otherwise that is an error listing them
     */
    public static Result train(TrainConfig tc, TokenDataset ds, Path runDir, boolean allowConfigChange,
                               Consumer<String> log) throws IOException {
        return train(tc, List.of(ds), null, runDir, allowConfigChange, log);
    }

    /**
     * As above on a token-weighted blend of datasets ({@link Mixture}; one per source, in the sources' order), or
     * on {@code sets.get(0)} alone when {@code sources} is null. The sources must share seq_len and vocabulary;
     * checkpoints copy the first one's tokenizer.
     */
    public static Result train(TrainConfig tc, List<TokenDataset> sets, List<Mixture.Source> sources, Path runDir,
                               boolean allowConfigChange, Consumer<String> log) throws IOException {
        GptConfig mc = tc.model();
        TokenDataset ds = sets.get(0);
        for (TokenDataset d : sets) {
            if (mc.vocabSize() != d.vocabSize()) {
                throw new IllegalArgumentException("model vocabulary " + mc.vocabSize() + " != dataset vocabulary "
                        + d.vocabSize() + " (" + d.dir() + ")");
            }
            if (d.seqLen() != ds.seqLen()) {
                throw new IllegalArgumentException("mixture sources have different seq_len: " + ds.seqLen() + " ("
                        + ds.dir() + ") and " + d.seqLen() + " (" + d.dir() + ")");
            }
        }
        int seqLen = ds.seqLen();
        if (seqLen > mc.blockSize()) {
            throw new IllegalArgumentException("dataset seq_len " + seqLen + " exceeds the model's block size " + mc.blockSize());
        }
        applyThreads(tc.threads());
        Files.createDirectories(runDir);
        Path ckptDir = runDir.resolve(CHECKPOINT);
        DataBlend data = DataBlend.of(sets, sources, tc.dataSeed());
        long needed = tc.maxSteps() * tc.gradAccum() * (long) tc.microBatch();
        if (needed > data.train().capacity()) {
            throw new IllegalArgumentException(data.capacityError(needed));
        }
        Map<String, Object> runConfig = new java.util.LinkedHashMap<>(tc.toMap());
        if (sources != null) {
            runConfig.put("data_mixture", DataBlend.describe(sources));
        }
        Map<String, INDArray> params;
        AdamW.State opt;
        long step;
        Checkpoint from = tc.resume() ? Checkpoint.newest(runDir, log) : null;
        boolean resumed = from != null;
        List<String> changes = List.of();
        long tokensBefore = 0;
        if (resumed) {
            if (!from.config().equals(mc)) {
                throw new IllegalArgumentException(from.dir() + " holds " + from.config() + ", the run asks for " + mc
                        + " (use another run folder or resume=false)");
            }
            changes = resumeChanges(from, runConfig, allowConfigChange);
            params = from.params();
            opt = from.optimizer();
            step = opt.step;
            tokensBefore = tokensSeen(from, step * tc.microBatch() * (long) tc.gradAccum() * seqLen);
            log.accept(String.format(Locale.ROOT, "resuming from %s at step %d", from.dir(), step));
        } else {
            params = GptModel.initParams(mc, tc.seed());
            opt = AdamW.State.zeros(params);
            step = 0;
        }
        long tokensPerStep = (long) tc.microBatch() * tc.gradAccum() * seqLen;
        log.accept("model " + mc);
        log.accept(String.format(Locale.ROOT, "train %,d samples, val %,d samples, seq_len %d, %,d tokens/step, %d steps, "
                        + "threads %s", data.trainSize(), data.valSize(), seqLen, tokensPerStep, tc.maxSteps(),
                tc.threads() > 0 ? tc.threads() : "default (OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS") + ")"));
        log.accept("config " + JSON.writeValueAsString(tc));

        StepRunner runner = new StepRunner(mc, seqLen, tc.hyper(), tc.schedule(), tc.gradClip());
        params = runner.own(params);   // the engine's buffers: steps copy nothing
        opt = runner.own(opt);
        List<Batch> valBatches = data.valBatches(tc.evalBatches(), tc.microBatch());
        if (sources != null) {
            log.accept("mixture " + DataBlend.describe(sources) + "; capacity " + (data.train().capacity() == Long.MAX_VALUE
                    ? "unbounded" : String.format(Locale.ROOT, "%,d samples", data.train().capacity())));
        }

        Path metricsFile = runDir.resolve(METRICS);
        List<Double> trTok = new ArrayList<>(), trLoss = new ArrayList<>(), vaTok = new ArrayList<>(), vaLoss = new ArrayList<>();
        rewriteMetrics(metricsFile, resumed ? step : 0, trTok, trLoss, vaTok, vaLoss);
        recordConfigChange(metricsFile, step, tokensBefore, changes);
        Path tokenizerFile = ds.tokenizerFile();

        List<Double> losses = new ArrayList<>();
        Double lastVal = null;
        long first = step;
        double msSum = 0;
        double windowMs = 0;
        int windowSteps = 0;
        try (BufferedWriter metrics = Files.newBufferedWriter(metricsFile, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            while (step < tc.maxSteps()) {
                List<Batch> micro = new ArrayList<>(tc.gradAccum());
                for (int j = 0; j < tc.gradAccum(); j++) {
                    micro.add(Batch.from(data.train(), (step * tc.gradAccum() + j) * tc.microBatch(), tc.microBatch()));
                }
                StepRunner.StepStats s = runner.step(params, opt, micro, tc.seed());
                step = s.step();
                losses.add(s.loss());
                msSum += s.millis();
                windowMs += s.millis();
                windowSteps++;
                long tokens = tokensBefore + (step - first) * tokensPerStep;   // the run's actual history
                ObjectNode m = JSON.createObjectNode();
                m.put("step", step).put("tokens", tokens).put("loss", s.loss()).put("lr", s.lr()).put("grad_norm", s.gradNorm())
                        .put("ms", round(s.millis(), 1)).put("tokens_per_s", round(s.tokens() / (s.millis() / 1000), 1));
                data.putTokensPerSource(m, step * tc.gradAccum() * (long) tc.microBatch(), seqLen);
                metrics.write(JSON.writeValueAsString(m));
                metrics.newLine();
                trTok.add((double) tokens);
                trLoss.add(s.loss());
                if (step % tc.logEvery() == 0 || step == tc.maxSteps() || step == first + 1) {
                    double msPerStep = windowMs / windowSteps;
                    double eta = (tc.maxSteps() - step) * msPerStep / 1000;
                    log.accept(String.format(Locale.ROOT, "step %d/%d | loss %.4f | lr %.3e | gnorm %.3f | %,.0f tok/s | %.0f ms/step | eta %s%s",
                            step, tc.maxSteps(), s.loss(), s.lr(), s.gradNorm(), tokensPerStep / (msPerStep / 1000), msPerStep, duration(eta),
                            data.sharesLine(step * tc.gradAccum() * (long) tc.microBatch())));
                    windowMs = 0;
                    windowSteps = 0;
                }
                boolean last = step == tc.maxSteps();
                if (!valBatches.isEmpty() && ((tc.evalEvery() > 0 && step % tc.evalEvery() == 0) || last)) {
                    lastVal = runner.evaluate(params, valBatches);
                    ObjectNode v = JSON.createObjectNode();
                    v.put("step", step).put("tokens", tokens).put("val_loss", lastVal);
                    metrics.write(JSON.writeValueAsString(v));
                    metrics.newLine();
                    vaTok.add((double) tokens);
                    vaLoss.add(lastVal);
                    log.accept(String.format(Locale.ROOT, "step %d | val loss %.4f (%d batches)", step, lastVal, valBatches.size()));
                }
                metrics.flush();
                if ((tc.evalEvery() > 0 && step % tc.evalEvery() == 0) || last) {
                    LossPlot.write(runDir.resolve(PLOT), "sparkgpt " + mc.nLayer() + "L/" + mc.dModel() + "d", trTok, trLoss, vaTok, vaLoss);
                }
                if ((tc.checkpointEvery() > 0 && step % tc.checkpointEvery() == 0) || last) {
                    Checkpoint.TrainingState ts = new Checkpoint.TrainingState(step, s.lr(), step * tc.gradAccum() * (long) tc.microBatch(),
                            tokens, step * tc.gradAccum() * (long) tc.microBatch() / data.trainSize(), tc.seed(), tc.dataSeed(),
                            lastVal, runConfig);
                    Path saved = Checkpoint.commit(runDir, mc, Head.NONE, params, opt, ts, tokenizerFile, KEEP_CHECKPOINTS);
                    log.accept("checkpoint " + saved + " (and " + ckptDir + ") at step " + step);
                }
            }
        }
        if (first == tc.maxSteps() && !Files.exists(runDir.resolve(PLOT))) {
            LossPlot.write(runDir.resolve(PLOT), "sparkgpt", trTok, trLoss, vaTok, vaLoss);
        }
        return new Result(first, step - first, losses, lastVal, tokensBefore + (step - first) * tokensPerStep,
                losses.isEmpty() ? 0 : msSum / losses.size(), ckptDir);
    }

    /**
     * The settings that differ from the checkpoint's ({@link Checkpoint#configChanges}); refused unless
     * {@code allow}. Shared by every trainer that resumes.
     *
     * @throws IllegalArgumentException (one line, listing them) when they differ and {@code allow} is false
     */
    public static List<String> resumeChanges(Checkpoint from, Map<String, Object> now, boolean allow) {
        Map<String, Object> before = from.trainingState() == null || from.trainingState().trainConfig() == null
                ? Map.of() : from.trainingState().trainConfig();
        List<String> changes = before.isEmpty() ? List.of() : Checkpoint.configChanges(before, now);
        if (!changes.isEmpty() && !allow) {
            throw new IllegalArgumentException(from.dir() + " was written with other settings (" + String.join(", ", changes)
                    + "); rerun with the same settings, or --allow-config-change to go on with the new ones");
        }
        return changes;
    }

    /** Tokens trained on up to the checkpoint, as it recorded them ({@code fallback} for an older checkpoint). */
    public static long tokensSeen(Checkpoint from, long fallback) {
        return from.trainingState() != null && from.trainingState().tokensSeen() > 0 ? from.trainingState().tokensSeen() : fallback;
    }

    /** Writes a {@code config_change} line to {@code metrics.jsonl} when a resumed run goes on with other settings. */
    public static void recordConfigChange(Path metricsFile, long step, long tokens, List<String> changes) throws IOException {
        if (changes.isEmpty()) {
            return;
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("step", step).put("tokens", tokens);
        changes.forEach(n.putArray("config_change")::add);
        Files.writeString(metricsFile, JSON.writeValueAsString(n) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /**
     * Keeps the metrics of steps up to {@code upTo} (all when resuming; none for a fresh run) and loads them for
     * the plot. Shared by every trainer that writes {@code metrics.jsonl}.
     */
    public static void rewriteMetrics(Path file, long upTo, List<Double> trTok, List<Double> trLoss,
                                       List<Double> vaTok, List<Double> vaLoss) throws IOException {
        List<String> keep = new ArrayList<>();
        if (upTo > 0 && Files.isRegularFile(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    continue;   // a line cut by a crash
                }
                if (n.path("step").asLong() > upTo) {
                    continue;
                }
                keep.add(line);
                if (n.has("loss")) {
                    trTok.add(n.path("tokens").asDouble());
                    trLoss.add(n.path("loss").asDouble());
                } else if (n.has("val_loss")) {
                    vaTok.add(n.path("tokens").asDouble());
                    vaLoss.add(n.path("val_loss").asDouble());
                }
            }
        }
        Files.write(file, keep, StandardCharsets.UTF_8);
    }

    public static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /** "42s", "3m07s", "2h05m": for ETAs. */
    public static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        }
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
