package io.sparkgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.array.SingleThreadArrayHolder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterAdd;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A GPT-2-style decoder-only transformer as one SameDiff graph, in the spirit of nanoGPT's {@code model.py}.
 *
 * <pre>
 *   x   = wte[idx] + wpe[0..T)                        token + learned position embeddings
 *   for each of L blocks:
 *     x = x + c_proj(attn(ln_1(x)))                   causal multi-head self-attention (pre-LayerNorm)
 *     x = x + mlp.c_proj(gelu(mlp.c_fc(ln_2(x))))     MLP, GELU (tanh approximation, as GPT-2)
 *   logits = ln_f(x) @ wte^T                          head tied to the token embedding
 *   loss   = -sum_t w_t * log softmax(logits_t)[target_t],   w_t = mask_t / (unmasked tokens of the step)
 * </pre>
 * That is the {@link Objective.Kind#LM} objective; {@link Objective} also defines the pairwise reward-model loss
 * and the PPO loss, which add a scalar {@link Head} on the final hidden states.
 *
 * <p><b>Parameters</b> carry HuggingFace {@code GPT2LMHeadModel} state-dict names and layouts (see
 * {@link #paramSpecs}): linear weights are stored {@code [in, out]} like GPT-2's {@code Conv1D}, so {@code y = x @ W
 * + b} with no transpose. The graph holds the parameter arrays by reference: {@link #setParams} shares the caller's
 * arrays, and an optimiser that updates them in place is seen by the next step.
 *
 * <p>The ops are defined by {@link GptGraph} (shared with the deeplearning4j layer of {@code pretrain --engine
 * dl4j-spark}); this class adds the placeholders, the gradient function and the embedding lookup around them.
 *
 * <p><b>Choices forced by ND4J 1.0.0-M2.1</b> (each verified by the gradient check in the tests):
 * <ul>
 *   <li>The token embedding lookup runs outside the graph: rows of {@code wte} are gathered in Java into the
 *       placeholder {@code tok_emb}, SameDiff returns the gradient for that placeholder, and it is scatter-added
 *       into {@code wte}'s gradient (SameDiff's {@code gather} backprop runs one op per index: far too slow; a one-hot
 *       matmul costs a vocabulary-sized product).</li>
 *   <li>LayerNorm is composed from mean/variance ops: ND4J's {@code layer_norm} divides by the standard deviation
 *       without an epsilon, which differs from PyTorch's {@code sqrt(var + 1e-5)} by percents at GPT-2 init scale.</li>
 *   <li>Attention is matmul + additive causal mask + softmax, exactly causal; the fused
 *       {@code multiHeadDotProductAttention} without a mask is not.</li>
 *   <li>The loss is the fused {@code softmaxCrossEntropy} with one-hot labels, per-token weights
 *       {@code mask / count} (rank 1) and SUM reduction. {@code sparseSoftmaxCrossEntropy}'s backward ignores the
 *       upstream gradient (with or without {@code mean()}: a weighted sum of its per-token losses gave gradients
 *       about B*T times too large in the gradient check), and logSoftmax * one-hot was slower.</li>
 *   <li>GELU is composed as {@code x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))}, which equals PyTorch's
 *       {@code gelu(approximate="tanh")} and HF's {@code gelu_new}; ND4J's {@code preciseGelu} does not (it was
 *       measured at -0.0247 for x = -3 where the tanh formula gives -0.0036).</li>
 *   <li>Parameters are held in plain {@code SingleThreadArrayHolder}s: the default holder keeps per-device copies,
 *       and {@code output()} then did not see in-place optimiser updates.</li>
 *   <li>Scatter-adding the embedding gradient uses libnd4j's locking mode: without it, rows of repeated token
 *       ids were lost at random with 2 threads.</li>
 * </ul>
 *
 * <p>Dropout (when {@link GptConfig#dropout()} &gt; 0) multiplies by masks generated in Java from a seed, so a step
 * is reproducible; evaluation and {@link #logits} use no dropout.
 *
 * <p>Not thread-safe: one instance per thread.
 */
public final class GptModel {
    public static final String WTE = "transformer.wte.weight";
    public static final String WPE = "transformer.wpe.weight";
    public static final String LN_F_W = "transformer.ln_f.weight";
    public static final String LN_F_B = "transformer.ln_f.bias";
    public static final String LM_HEAD = "lm_head.weight";

    private static final String TOK_EMB = "tok_emb";
    private static final String TARGETS = "targets";
    private static final String WEIGHTS = "weights";
    private static final String LOSS = "loss";
    private static final String LOGITS = "logits";
    private static final String READ_AT = "read_at";
    private static final String PAIRS = "pairs";
    private static final String PAIR_WEIGHTS = "pair_weights";
    private static final String REWARD = "reward";
    private static final String OLD_LOGP = "old_logp";
    private static final String ADVANTAGES = "advantages";
    private static final String RETURNS = "returns";
    private static final String OLD_VALUES = "old_values";
    private static final String LOGP = "logp";
    private static final String VALUE = "value";
    private static final String ENTROPY = "entropy";
    private static final String RATIO = "ratio";

    /** How a parameter is initialised and whether weight decay applies to it. */
    public enum Init { NORMAL, RESIDUAL, ZEROS, ONES }

    /** One parameter: HF name, shape, initialisation, weight decay (true only for matrices used in products). */
    public record ParamSpec(String name, long[] shape, Init init, boolean decay) {
    }

    private final GptConfig cfg;
    private final int seqLen;
    private final Objective objective;
    private final SameDiff sd;
    private GptGraph graph;
    private final List<ParamSpec> specs;
    private final List<String> gradTargets = new ArrayList<>();
    private final List<String> dropoutNames = new ArrayList<>();
    private final Map<String, long[]> dropoutShapes = new HashMap<>();
    private final Map<String, String> gradNames = new HashMap<>();
    private final SameDiff gradFn;
    private final List<String> gradOutputs;
    private Map<String, INDArray> params;

    /**
     * Builds the training/evaluation graph for sequences of exactly {@code seqLen} tokens (at most the block size);
     * the batch size may vary between calls.
     */
    public GptModel(GptConfig cfg, int seqLen) {
        this(cfg, seqLen, Objective.lm());
    }

    /** As above, computing {@code objective}'s loss (its head's tensors join the parameters). */
    public GptModel(GptConfig cfg, int seqLen, Objective objective) {
        if (seqLen < 1 || seqLen > cfg.blockSize()) {
            throw new IllegalArgumentException("sequence length " + seqLen + " must be in [1, block_size " + cfg.blockSize() + "]");
        }
        this.cfg = cfg;
        this.seqLen = seqLen;
        this.objective = objective;
        this.specs = paramSpecs(cfg, objective.head());
        this.sd = SameDiff.create();
        // SameDiff's default ThreadSafeArrayHolder keeps per-device copies of variable arrays: sd.output() then
        // never saw in-place parameter updates. Plain holders keep the caller's arrays by reference.
        sd.setArrayHolders(new SingleThreadArrayHolder(), new SingleThreadArrayHolder(), false);
        build();
        for (ParamSpec s : specs) {
            gradTargets.add(s.name());
        }
        gradTargets.add(TOK_EMB);
        sd.setLossVariables(LOSS);
        sd.createGradFunction(TOK_EMB);
        gradFn = sd.getFunction("grad");
        gradOutputs = new ArrayList<>();
        gradOutputs.add(LOSS);
        if (objective.kind() == Objective.Kind.PPO) {
            gradOutputs.add(RATIO);     // for the clip fraction
            gradOutputs.add(ENTROPY);
        }
        for (String v : gradTargets) {
            SDVariable gv = sd.getVariable(v).getGradient();
            if (gv != null) {
                gradNames.put(v, gv.name());
                gradOutputs.add(gv.name());
            }
        }
    }

    public GptModel(GptConfig cfg) {
        this(cfg, cfg.blockSize());
    }

    public GptConfig config() {
        return cfg;
    }

    public int seqLen() {
        return seqLen;
    }

    public Objective objective() {
        return objective;
    }

    /** Backbone parameters and those of {@code head}, in canonical order. */
    public static List<ParamSpec> paramSpecs(GptConfig c, Head head) {
        List<ParamSpec> s = new ArrayList<>(paramSpecs(c));
        s.addAll(head.specs(c));
        return Collections.unmodifiableList(s);
    }

    /** Parameters in canonical order with HF names, shapes and init/decay rules. */
    public static List<ParamSpec> paramSpecs(GptConfig c) {
        long d = c.dModel(), m = c.mlpWidth();
        List<ParamSpec> s = new ArrayList<>();
        s.add(new ParamSpec(WTE, new long[]{c.vocabSize(), d}, Init.NORMAL, false));
        s.add(new ParamSpec(WPE, new long[]{c.blockSize(), d}, Init.NORMAL, false));
        for (int i = 0; i < c.nLayer(); i++) {
            String p = "transformer.h." + i + ".";
            s.add(new ParamSpec(p + "ln_1.weight", new long[]{d}, Init.ONES, false));
            if (c.bias()) {
                s.add(new ParamSpec(p + "ln_1.bias", new long[]{d}, Init.ZEROS, false));
            }
            s.add(new ParamSpec(p + "attn.c_attn.weight", new long[]{d, 3 * d}, Init.NORMAL, true));
            if (c.bias()) {
                s.add(new ParamSpec(p + "attn.c_attn.bias", new long[]{3 * d}, Init.ZEROS, false));
            }
            s.add(new ParamSpec(p + "attn.c_proj.weight", new long[]{d, d}, Init.RESIDUAL, true));
            if (c.bias()) {
                s.add(new ParamSpec(p + "attn.c_proj.bias", new long[]{d}, Init.ZEROS, false));
            }
            s.add(new ParamSpec(p + "ln_2.weight", new long[]{d}, Init.ONES, false));
            if (c.bias()) {
                s.add(new ParamSpec(p + "ln_2.bias", new long[]{d}, Init.ZEROS, false));
            }
            s.add(new ParamSpec(p + "mlp.c_fc.weight", new long[]{d, m}, Init.NORMAL, true));
            if (c.bias()) {
                s.add(new ParamSpec(p + "mlp.c_fc.bias", new long[]{m}, Init.ZEROS, false));
            }
            s.add(new ParamSpec(p + "mlp.c_proj.weight", new long[]{m, d}, Init.RESIDUAL, true));
            if (c.bias()) {
                s.add(new ParamSpec(p + "mlp.c_proj.bias", new long[]{d}, Init.ZEROS, false));
            }
        }
        s.add(new ParamSpec(LN_F_W, new long[]{d}, Init.ONES, false));
        if (c.bias()) {
            s.add(new ParamSpec(LN_F_B, new long[]{d}, Init.ZEROS, false));
        }
        if (!c.tied()) {
            s.add(new ParamSpec(LM_HEAD, new long[]{c.vocabSize(), d}, Init.NORMAL, true));
        }
        return Collections.unmodifiableList(s);
    }

    /**
     * GPT-2 initialisation: weights and embeddings normal(0, 0.02), residual projections ({@code c_proj})
     * normal(0, 0.02 / sqrt(2L)), biases 0, LayerNorm gains 1. Deterministic in {@code seed} (java.util.Random per
     * tensor, seeded from the seed and the tensor's index).
     */
    public static Map<String, INDArray> initParams(GptConfig c, long seed) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        SplittableRandom seeds = new SplittableRandom(seed);
        for (ParamSpec s : paramSpecs(c)) {
            out.put(s.name(), init(c, s, seeds.nextLong()));
        }
        return out;
    }

    /**
     * Copies of {@code backbone}'s tensors (a language model's parameters) plus freshly initialised tensors of
     * {@code head} (the start of a reward model or of a PPO policy's value head).
     */
    public static Map<String, INDArray> withNewHead(GptConfig c, Map<String, INDArray> backbone, Head head, long seed) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (ParamSpec s : paramSpecs(c)) {
            out.put(s.name(), backbone.get(s.name()).dup());
        }
        SplittableRandom seeds = new SplittableRandom(seed);
        for (ParamSpec s : head.specs(c)) {
            out.put(s.name(), init(c, s, seeds.nextLong()));
        }
        checkParams(c, head, out);
        return out;
    }

    /** The backbone's tensors of {@code params} (same arrays), without any head: what generation needs. */
    public static Map<String, INDArray> backbone(GptConfig c, Map<String, INDArray> params) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (ParamSpec s : paramSpecs(c)) {
            out.put(s.name(), params.get(s.name()));
        }
        return out;
    }

    private static INDArray init(GptConfig c, ParamSpec s, long seedForTensor) {
        DataType dt = c.nd4jType();
        return switch (s.init()) {
            case ZEROS -> Nd4j.zeros(dt, s.shape());
            case ONES -> Nd4j.ones(dt, s.shape());
            default -> {
                double std = s.init() == Init.RESIDUAL ? 0.02 / Math.sqrt(2.0 * c.nLayer()) : 0.02;
                Random r = new Random(seedForTensor);
                long n = 1;
                for (long x : s.shape()) {
                    n *= x;
                }
                double[] v = new double[Math.toIntExact(n)];
                for (int i = 0; i < v.length; i++) {
                    v[i] = r.nextGaussian() * std;
                }
                yield Nd4j.create(v, s.shape(), 'c').castTo(dt);
            }
        };
    }

    /**
     * Shares {@code params} (names and shapes as {@link #paramSpecs}) with the graph; later in-place updates of
     * these arrays are used by the next call.
     */
    public void setParams(Map<String, INDArray> params) {
        checkParams(cfg, objective.head(), params);
        for (ParamSpec s : specs) {
            sd.getVariable(s.name()).setArray(params.get(s.name()));
        }
        this.params = params;
    }

    public Map<String, INDArray> params() {
        return params;
    }

    /** Checks names, shapes and dtypes against the config. */
    public static void checkParams(GptConfig cfg, Map<String, INDArray> params) {
        checkParams(cfg, Head.NONE, params);
    }

    /** Checks names, shapes and dtypes of the backbone and {@code head}'s tensors. */
    public static void checkParams(GptConfig cfg, Head head, Map<String, INDArray> params) {
        List<ParamSpec> specs = paramSpecs(cfg, head);
        for (ParamSpec s : specs) {
            INDArray a = params.get(s.name());
            if (a == null) {
                throw new IllegalArgumentException("parameter " + s.name() + " is missing");
            }
            if (!java.util.Arrays.equals(a.shape(), s.shape())) {
                throw new IllegalArgumentException("parameter " + s.name() + " has shape " + java.util.Arrays.toString(a.shape())
                        + ", the config needs " + java.util.Arrays.toString(s.shape()));
            }
            if (a.dataType() != cfg.nd4jType()) {
                throw new IllegalArgumentException("parameter " + s.name() + " is " + a.dataType() + ", the config says " + cfg.dtype());
            }
        }
        if (params.size() != specs.size()) {
            List<String> extra = new ArrayList<>(params.keySet());
            specs.forEach(s -> extra.remove(s.name()));
            throw new IllegalArgumentException("unexpected parameters " + extra);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The graph

    private void build() {
        DataType dt = cfg.nd4jType();
        Map<String, SDVariable> p = new HashMap<>();
        for (ParamSpec s : specs) {
            p.put(s.name(), sd.var(s.name(), dt, s.shape()));
        }
        SDVariable tokEmb = sd.placeHolder(TOK_EMB, dt, -1, cfg.dModel());   // [B*T, d], rows of wte
        graph = new GptGraph(sd, cfg, seqLen);
        SDVariable x = graph.hidden(p, tokEmb, this::dropout);               // [B*T, d], after ln_f
        switch (objective.kind()) {
            case LM -> lmLoss(x, p);
            case PAIRWISE_REWARD -> pairwiseRewardLoss(x, p);
            case PPO -> ppoLoss(x, p);
        }
    }

    private SDVariable lmLogits(SDVariable x, Map<String, SDVariable> p) {
        return graph.lmLogits(p, x).rename(LOGITS);                              // [BT, V]
    }

    private void lmLoss(SDVariable x, Map<String, SDVariable> p) {
        DataType dt = cfg.nd4jType();
        SDVariable targets = sd.placeHolder(TARGETS, DataType.INT, -1);   // [B*T]
        SDVariable weights = sd.placeHolder(WEIGHTS, dt, -1);             // [B*T] = mask / count
        graph.loss(LOSS, lmLogits(x, p), targets, weights);
    }

    /** Scalar head on every position: [BT, d] -> [BT]. */
    private SDVariable scalarHead(SDVariable x, Map<String, SDVariable> p) {
        Head h = objective.head();
        return sd.reshape(graph.linear(x, p.get(h.weight()), p.get(h.bias())), -1);
    }

    /**
     * reward_b = sum_t score[b, t] * read_at[b, t] (read_at one-hot at the last real token); per pair
     * d = pairs @ reward (+1 chosen, -1 rejected), loss = sum_pairs w * softplus(-d) = -w log sigmoid(d).
     */
    private void pairwiseRewardLoss(SDVariable x, Map<String, SDVariable> p) {
        DataType dt = cfg.nd4jType();
        SDVariable readAt = sd.placeHolder(READ_AT, dt, -1, seqLen);      // [B, T]
        SDVariable pairs = sd.placeHolder(PAIRS, dt, -1, -1);             // [P, B]
        SDVariable pairWeights = sd.placeHolder(PAIR_WEIGHTS, dt, -1);    // [P] = 1 / pairs of the step
        SDVariable score = sd.reshape(scalarHead(x, p), -1, seqLen);
        SDVariable reward = score.mul(readAt).sum(1).rename(REWARD);       // [B]
        SDVariable margin = sd.reshape(sd.mmul(pairs, sd.reshape(reward, -1, 1)), -1);
        sd.nn.softplus(margin.neg()).mul(pairWeights).sum().rename(LOSS);
    }

    /** See {@link Objective}: clipped policy loss + clipped value loss - entropy bonus, weighted per token. */
    private void ppoLoss(SDVariable x, Map<String, SDVariable> p) {
        DataType dt = cfg.nd4jType();
        SDVariable targets = sd.placeHolder(TARGETS, DataType.INT, -1);
        SDVariable weights = sd.placeHolder(WEIGHTS, dt, -1);
        SDVariable oldLogp = sd.placeHolder(OLD_LOGP, dt, -1);
        SDVariable adv = sd.placeHolder(ADVANTAGES, dt, -1);
        SDVariable returns = sd.placeHolder(RETURNS, dt, -1);
        SDVariable oldValues = sd.placeHolder(OLD_VALUES, dt, -1);
        // logSoftmax * one-hot: the gradient check passes with it (the sparse cross-entropy op's backward does not)
        SDVariable logProbs = sd.nn.logSoftmax(lmLogits(x, p));
        SDVariable labels = sd.oneHot(targets, cfg.vocabSize(), -1, 1.0, 0.0, dt);
        SDVariable logp = logProbs.mul(labels).sum(1).rename(LOGP);
        SDVariable entropy = sd.math.exp(logProbs).mul(logProbs).sum(1).neg().rename(ENTROPY);
        SDVariable ratio = sd.math.exp(logp.sub(oldLogp)).rename(RATIO);
        double e = objective.clipRange();
        SDVariable policy = max(adv.neg().mul(ratio), adv.neg().mul(clip(ratio, 1 - e, 1 + e)));
        SDVariable value = scalarHead(x, p).rename(VALUE);
        double c = objective.valueClip();
        SDVariable clippedValue = oldValues.add(clip(value.sub(oldValues), -c, c));
        SDVariable valueLoss = max(sd.math.square(value.sub(returns)), sd.math.square(clippedValue.sub(returns))).mul(0.5);
        SDVariable perToken = policy.add(valueLoss.mul(objective.valueCoef())).sub(entropy.mul(objective.entropyCoef()));
        perToken.mul(weights).sum().rename(LOSS);
    }

    /** min(max(v, lo), hi) from relus, whose backward is plain. */
    private SDVariable clip(SDVariable v, double lo, double hi) {
        return sd.nn.relu(v.sub(lo), 0).sub(sd.nn.relu(v.sub(hi), 0)).add(lo);
    }

    /** max(a, b) = (a + b + |a - b|) / 2. */
    private SDVariable max(SDVariable a, SDVariable b) {
        return a.add(b).add(sd.math.abs(a.sub(b))).mul(0.5);
    }

    private SDVariable dropout(SDVariable x, String name, long[] shape) {
        if (cfg.dropout() <= 0) {
            return x;
        }
        SDVariable mask = sd.placeHolder(name, cfg.nd4jType(), shape);
        dropoutNames.add(name);
        dropoutShapes.put(name, shape);
        return x.mul(mask);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Running it

    /**
     * Loss and gradients of one micro-batch, gradients keyed by parameter name. For PPO also the per-position
     * probability ratios and entropies [B*T] of the forward pass (else null).
     */
    public record LossAndGrads(double loss, Map<String, INDArray> grads, INDArray ratios, INDArray entropies) {
    }

    /**
     * Loss units of a batch, by which a step's loss is normalised: unmasked tokens (LM, PPO) or pairs (reward).
     */
    public double lossUnits(Batch batch) {
        return objective.kind() == Objective.Kind.PAIRWISE_REWARD ? batch.size() / 2 : batch.maskSum();
    }

    /**
     * Forward and backward on one micro-batch. The loss is {@code sum_t mask_t * nll_t / normalizer} (for the other
     * objectives, their per-token or per-pair terms over {@code normalizer}); pass the {@link #lossUnits} of the
     * whole (accumulated) batch as {@code normalizer}, so that summing the gradients of all micro-batches gives the
     * gradient of the mean over all of them.
     *
     * @param dropoutSeed seed for this micro-batch's dropout masks (ignored without dropout)
     */
    public LossAndGrads lossAndGradients(Batch batch, double normalizer, long dropoutSeed) {
        requireParams();
        Map<String, INDArray> ph = placeholders(batch, normalizer);
        if (!dropoutNames.isEmpty()) {
            addDropoutMasks(ph, batch.size(), dropoutSeed);
        }
        // The gradient function run directly, with SameDiff's array cache on: calculateGradientsAndOutputs turns
        // the cache off, so every op output is a fresh off-heap allocation freed only by the GC (steps slowed
        // down from one to the next).
        Map<String, INDArray> out = gradFn.output(ph, gradOutputs);
        Map<String, INDArray> g = new LinkedHashMap<>();
        for (ParamSpec s : specs) {
            INDArray gi = gradNames.containsKey(s.name()) ? out.get(gradNames.get(s.name())) : null;
            if (gi == null && (s.name().equals(WTE) || s.name().equals(LM_HEAD))) {
                // wte untied or without an LM loss (reward model): used only through tok_emb; lm_head likewise unused
                gi = Nd4j.zeros(cfg.nd4jType(), s.shape());
            }
            if (gi == null) {
                throw new IllegalStateException("no gradient for " + s.name());
            }
            g.put(s.name(), gi);
        }
        // embedding lookup done outside the graph: scatter-add d(loss)/d(tok_emb) rows into wte's gradient
        INDArray dEmb = out.get(gradNames.get(TOK_EMB));
        INDArray ids = Nd4j.createFromArray(batch.inputsFlat());
        ScatterAdd scatter = new ScatterAdd(g.get(WTE), ids, dEmb);
        scatter.addBArgument(true);   // "use_locking": without it libnd4j adds rows in parallel and loses repeated ids
        INDArray dWte = Nd4j.exec(scatter)[0];
        g.put(WTE, dWte);
        return new LossAndGrads(out.get(LOSS).getDouble(0), g, out.get(RATIO), out.get(ENTROPY));
    }

    /** Mean loss of a batch over its unmasked tokens (no dropout). */
    public double loss(Batch batch) {
        requireParams();
        Map<String, INDArray> ph = placeholders(batch, Math.max(1e-12, lossUnits(batch)));
        if (!dropoutNames.isEmpty()) {
            addDropoutMasks(ph, batch.size(), -1);
        }
        return sd.output(ph, LOSS).get(LOSS).getDouble(0);
    }

    /** Rewards [B] of a reward model: each row's score at the position where its mask is 1 (no dropout). */
    public float[] rewards(Batch batch) {
        requireObjective(Objective.Kind.PAIRWISE_REWARD);
        return forward(batch, REWARD).get(REWARD).toFloatVector();
    }

    /**
     * A PPO policy's per-position outputs, each [B][T]: log-probability of the next token {@code tokens[b][t+1]},
     * value estimate and entropy of the next-token distribution (no dropout).
     */
    public record PolicyOutputs(float[][] logp, float[][] values, float[][] entropy) {
    }

    public PolicyOutputs policyOutputs(Batch batch) {
        requireObjective(Objective.Kind.PPO);
        Map<String, INDArray> o = forward(batch, LOGP, VALUE, ENTROPY);
        long[] shape = {batch.size(), seqLen};
        return new PolicyOutputs(o.get(LOGP).reshape(shape).toFloatMatrix(), o.get(VALUE).reshape(shape).toFloatMatrix(),
                o.get(ENTROPY).reshape(shape).toFloatMatrix());
    }

    private Map<String, INDArray> forward(Batch batch, String... outputs) {
        requireParams();
        Map<String, INDArray> ph = placeholders(batch, 1);
        if (!dropoutNames.isEmpty()) {
            addDropoutMasks(ph, batch.size(), -1);
        }
        return sd.output(ph, outputs);
    }

    private void requireObjective(Objective.Kind kind) {
        if (objective.kind() != kind) {
            throw new IllegalStateException("this graph computes " + objective.kind() + ", not " + kind);
        }
    }

    /** Logits [B, T, V] of a batch's inputs (no dropout). */
    public INDArray logits(Batch batch) {
        requireParams();
        Map<String, INDArray> ph = placeholders(batch, 1);
        if (!dropoutNames.isEmpty()) {
            addDropoutMasks(ph, batch.size(), -1);
        }
        INDArray l = sd.output(ph, LOGITS).get(LOGITS);
        return l.reshape(batch.size(), seqLen, cfg.vocabSize()).dup();
    }

    private Map<String, INDArray> placeholders(Batch batch, double normalizer) {
        if (batch.seqLen() != seqLen) {
            throw new IllegalArgumentException("batch has sequences of " + batch.seqLen() + " tokens, the graph " + seqLen);
        }
        int[] in = batch.inputsFlat();
        for (int id : in) {
            if (id < 0 || id >= cfg.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + cfg.vocabSize());
            }
        }
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(TOK_EMB, Nd4j.pullRows(params.get(WTE), 1, in));
        DataType dt = cfg.nd4jType();
        if (objective.kind() == Objective.Kind.PAIRWISE_REWARD) {
            int b = batch.size();
            ph.put(READ_AT, Nd4j.create(batch.maskFlat(), new long[]{b, seqLen}, 'c').castTo(dt));
            // rows [0, P) chosen, [P, 2P) rejected; an odd batch (scoring only) gets one all-zero pair row
            int pairs = Math.max(1, b / 2);
            float[] m = new float[pairs * b];
            for (int i = 0; i < b / 2; i++) {
                m[i * b + i] = 1;
                m[i * b + b / 2 + i] = -1;
            }
            ph.put(PAIRS, Nd4j.create(m, new long[]{pairs, b}, 'c').castTo(dt));
            ph.put(PAIR_WEIGHTS, Nd4j.valueArrayOf(new long[]{pairs}, 1.0 / normalizer, dt));
            return ph;
        }
        ph.put(TARGETS, Nd4j.createFromArray(batch.targetsFlat()));
        float[] w = batch.maskFlat();
        double[] wd = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            wd[i] = w[i] / normalizer;
        }
        ph.put(WEIGHTS, Nd4j.create(wd, new long[]{w.length}, 'c').castTo(dt));
        if (objective.kind() == Objective.Kind.PPO) {
            Batch.PpoTargets t = batch.ppo();
            long[] shape = {w.length};
            for (String name : List.of(OLD_LOGP, ADVANTAGES, RETURNS, OLD_VALUES)) {
                float[][] rows = t == null ? null : switch (name) {
                    case OLD_LOGP -> t.oldLogp();
                    case ADVANTAGES -> t.advantages();
                    case RETURNS -> t.returns();
                    default -> t.oldValues();
                };
                // without targets (a forward pass for rollouts) the loss inputs are zeros
                ph.put(name, rows == null ? Nd4j.zeros(dt, shape) : Nd4j.create(Batch.flat(rows), shape, 'c').castTo(dt));
            }
        }
        return ph;
    }

    /** Inverted dropout masks: keep with probability 1-p, kept entries scaled by 1/(1-p); all ones when seed < 0. */
    private void addDropoutMasks(Map<String, INDArray> ph, int b, long seed) {
        double p = cfg.dropout();
        SplittableRandom r = new SplittableRandom(seed);
        for (String name : dropoutNames) {
            long[] shape = dropoutShapes.get(name).clone();
            shape[0] = shape.length == 2 ? (long) b * seqLen : b;
            if (seed < 0) {
                ph.put(name, Nd4j.ones(cfg.nd4jType(), shape));
                continue;
            }
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            float[] m = new float[Math.toIntExact(n)];
            float keep = (float) (1 / (1 - p));
            for (int i = 0; i < m.length; i++) {
                m[i] = r.nextDouble() < p ? 0f : keep;
            }
            ph.put(name, Nd4j.create(m, shape, 'c').castTo(cfg.nd4jType()));
        }
    }

    private void requireParams() {
        if (params == null) {
            throw new IllegalStateException("setParams first");
        }
    }
}
