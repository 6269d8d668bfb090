package io.sparkgpt.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastCopyOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterAdd;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterSub;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LogSoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The GPT as explicit forward and backward passes over ND4J arrays, in the style of llm.c's {@code
 * train_gpt2.c}: each layer's forward sits next to its backward, every kernel is one or a few
 * native ND4J ops writing into arrays allocated once, and there is no graph.
 *
 * <pre>
 *   x   = wte[idx] + wpe[0..T)                        encoder
 *   for each of L blocks:
 *     x = x + c_proj(attn(ln_1(x)))                   causal multi-head self-attention (pre-LayerNorm)
 *     x = x + mlp.c_proj(gelu(mlp.c_fc(ln_2(x))))     MLP, GELU (tanh approximation, as GPT-2)
 *   logits = ln_f(x) @ wte^T                          head tied to the token embedding (or lm_head)
 *   loss   = -sum_t w_t * log softmax(logits_t)[target_t],   w_t = mask_t / (unmasked tokens of the step)
 * </pre>
 *
 * That is the {@link Objective.Kind#LM} objective. The alignment objectives of {@link Objective}
 * put a scalar {@link Head} on the same final hidden states ({@code s = ln_f(x) @ w + b}, one score
 * per position):
 *
 * <pre>
 *   reward model:  r_b = s[b, read_b];   loss = sum_pairs softplus(-(r_chosen - r_rejected)) / pairs of the step
 *   PPO:           ratio = exp(logp - old_logp);   per token, weighted by w_t:
 *                  max(-A ratio, -A clip(ratio, 1-e, 1+e)) + c_v 0.5 max((v-R)^2, (v_clip-R)^2) - c_e entropy
 * </pre>
 *
 * DPO has no head: {@code pi_b = sum_t mask_t log softmax(logits_t)[target_t]} per row, and per
 * pair {@code softplus(-beta ((pi_c - ref_c) - (pi_r - ref_r)))}; its backward is the language
 * model's with per-token weights {@code +-beta sigmoid(-z) mask_t / pairs}. Dropout ({@link
 * GptConfig#dropout()} &gt; 0, training passes only) multiplies the embeddings, the attention
 * probabilities and both residual branches by inverted-dropout masks drawn from ND4J's generator
 * seeded per pass, kept for the backward.
 *
 * <p><b>Memory.</b> Parameters live in one flat buffer and their gradients in another, both in the
 * order of {@link GptModel#paramSpecs}; {@link #params()} and {@link #grads()} are views into them
 * under the HF {@code GPT2LMHeadModel} names and {@code [in, out]} layouts of the checkpoint.
 * Activations are allocated once per batch size and reused by every step ({@link Acts}). The
 * optimiser ({@link AdamW#stepFlat}) and the gradient clipping work on the flat buffers with a
 * handful of ops.
 *
 * <p><b>Kernels.</b> Linear layers are {@code Nd4j.gemm} with transposes into preallocated outputs;
 * the attention products are batched {@code matmul} ops over {@code [B*H, T, hs]}; softmax is
 * native (the loss takes the log of the gathered target probabilities only); LayerNorm (eps 1e-5)
 * and GELU (tanh, computed as {@code x sigmoid(2u)}) are composed from element-wise and broadcast
 * ops because ND4J's {@code layer_norm} has no epsilon and its {@code gelu} ops are not the tanh
 * formula (see the module README); column sums (bias and gain gradients) are GEMMs with a ones
 * vector; the embedding backward is libnd4j's {@code scatter_add} with its lock flag (without it,
 * repeated ids lose rows). With {@link #profile(boolean)} on, each kernel group's time is added up
 * ({@link #profileMillis()}).
 *
 * <p>Not thread-safe: one instance per thread.
 */
public final class Gpt {

  /** Kernel groups of the per-op time breakdown. */
  public enum Kernel {
    MATMUL,
    ATTN_SOFTMAX,
    LAYERNORM,
    GELU,
    LOSS,
    EMBEDDING,
    RESIDUAL_BIAS,
    OPTIMIZER
  }

  private static final double GELU_C = Math.sqrt(2.0 / Math.PI);
  private static final double GELU_K = 0.044715;

  private final GptConfig cfg;
  private final Objective objective;

  /** Built over the caller's parameters for {@link #decode} only. */
  private final boolean inference;

  private final int seqLen;
  private final DataType dt;
  private final List<GptModel.ParamSpec> specs;
  private final INDArray flatParams;
  private final INDArray flatGrads;
  private final Map<String, INDArray> params;
  private final Map<String, INDArray> grads;

  /**
   * The parts of the flat parameter buffer that weight decay applies to, adjacent tensors as one
   * view: decay scales them in place, one pass over the decayed parameters only.
   */
  private final List<INDArray> decayed;

  private final Weights w;
  private final Weights dw;
  private final INDArray causalMask;

  /** Dropout's generator, reseeded for every training pass (null without dropout). */
  private final Random dropoutRng;

  private Acts acts;
  private boolean profile;
  private final long[] nanos = new long[Kernel.values().length];

  /** One layer's tensors (views into a flat buffer); biases null when the config has none. */
  private record Layer(
      INDArray ln1w,
      INDArray ln1b,
      INDArray attnW,
      INDArray attnB,
      INDArray projW,
      INDArray projB,
      INDArray ln2w,
      INDArray ln2b,
      INDArray fcW,
      INDArray fcB,
      INDArray fcProjW,
      INDArray fcProjB) {
    static Layer of(Map<String, INDArray> m, int i) {
      String p = "transformer.h." + i + ".";
      return new Layer(
          m.get(p + "ln_1.weight"),
          m.get(p + "ln_1.bias"),
          m.get(p + "attn.c_attn.weight"),
          m.get(p + "attn.c_attn.bias"),
          m.get(p + "attn.c_proj.weight"),
          m.get(p + "attn.c_proj.bias"),
          m.get(p + "ln_2.weight"),
          m.get(p + "ln_2.bias"),
          m.get(p + "mlp.c_fc.weight"),
          m.get(p + "mlp.c_fc.bias"),
          m.get(p + "mlp.c_proj.weight"),
          m.get(p + "mlp.c_proj.bias"));
    }
  }

  /**
   * The model's tensors by role (parameters or their gradients); the scalar head's null without
   * one.
   */
  private record Weights(
      INDArray wte,
      INDArray wpe,
      Layer[] layers,
      INDArray lnfw,
      INDArray lnfb,
      INDArray head,
      INDArray scalarW,
      INDArray scalarB) {
    static Weights of(GptConfig c, Head h, Map<String, INDArray> m) {
      Layer[] l = new Layer[c.nLayer()];
      for (int i = 0; i < l.length; i++) {
        l[i] = Layer.of(m, i);
      }
      return new Weights(
          m.get(GptModel.WTE),
          m.get(GptModel.WPE),
          l,
          m.get(GptModel.LN_F_W),
          m.get(GptModel.LN_F_B),
          c.tied() ? m.get(GptModel.WTE) : m.get(GptModel.LM_HEAD),
          h == Head.NONE ? null : m.get(h.weight()),
          h == Head.NONE ? null : m.get(h.bias()));
    }
  }

  /**
   * An engine for sequences of {@code seqLen} tokens (at most the block size), parameters
   * initialised as {@link GptModel#initParams} with {@code seed}; {@link #load} replaces them.
   */
  public Gpt(GptConfig cfg, int seqLen) {
    this(cfg, seqLen, Objective.lm());
  }

  /** As above, computing {@code objective}'s loss; the parameters then include its {@link Head}. */
  public Gpt(GptConfig cfg, int seqLen, Objective objective) {
    this(cfg, seqLen, objective, null, null);
  }

  /**
   * As {@link #Gpt(GptConfig, int, Objective)}, over the caller's flat parameter and gradient
   * buffers (contiguous, of {@link GptConfig#nd4jType()}, {@link #paramCount} elements in any
   * shape): a framework that owns the parameters (a deeplearning4j layer's views) trains them in
   * place. A null buffer is allocated here.
   */
  public Gpt(
      GptConfig cfg,
      int seqLen,
      Objective objective,
      INDArray paramBuffer,
      INDArray gradientBuffer) {
    if (seqLen < 1 || seqLen > cfg.blockSize()) {
      throw new IllegalArgumentException(
          "sequence length " + seqLen + " must be in [1, block_size " + cfg.blockSize() + "]");
    }
    this.cfg = cfg;
    this.objective = objective;
    this.inference = false;
    this.seqLen = seqLen;
    this.dt = cfg.nd4jType();
    this.specs = GptModel.paramSpecs(cfg, objective.head());
    long n = paramCount(specs);
    flatParams = paramBuffer == null ? Nd4j.create(dt, n) : flatView(paramBuffer, n, "parameter");
    flatGrads =
        gradientBuffer == null ? Nd4j.create(dt, n) : flatView(gradientBuffer, n, "gradient");
    params = views(flatParams);
    grads = views(flatGrads);
    decayed = decayedRuns(specs, flatParams);
    w = Weights.of(cfg, objective.head(), params);
    dw = Weights.of(cfg, objective.head(), grads);
    dropoutRng = cfg.dropout() > 0 ? Nd4j.getRandomFactory().getNewRandomInstance(0) : null;
    // 0 on and below the diagonal, -1e9 above: exp underflows to exactly 0 after the max is
    // subtracted
    double[] mask = new double[seqLen * seqLen];
    for (int i = 0; i < seqLen; i++) {
      java.util.Arrays.fill(mask, i * seqLen + i + 1, (i + 1) * seqLen, -1e9);
    }
    causalMask = Nd4j.create(mask, new long[] {seqLen, seqLen}, 'c').castTo(dt);
  }

  /**
   * An inference engine over the caller's parameter arrays (shared, not copied; no gradient
   * buffers): what {@link #decode} runs on.
   */
  public static Gpt inference(GptConfig cfg, Map<String, INDArray> params) {
    return new Gpt(cfg, params);
  }

  private Gpt(GptConfig cfg, Map<String, INDArray> params) {
    GptModel.checkParams(cfg, params);
    this.cfg = cfg;
    this.objective = Objective.lm();
    this.inference = true;
    this.seqLen = cfg.blockSize();
    this.dt = cfg.nd4jType();
    this.specs = GptModel.paramSpecs(cfg);
    this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    this.flatParams = this.flatGrads = this.causalMask = null;
    this.decayed = null;
    this.grads = null;
    this.w = Weights.of(cfg, Head.NONE, params);
    this.dw = null;
    this.dropoutRng = null;
  }

  /** Parameters of a language model of {@code cfg}: the length of its flat buffers. */
  public static long paramCount(GptConfig cfg) {
    return paramCount(GptModel.paramSpecs(cfg));
  }

  private static long paramCount(List<GptModel.ParamSpec> specs) {
    long n = 0;
    for (GptModel.ParamSpec s : specs) {
      n += length(s.shape());
    }
    return n;
  }

  /** {@code buffer} as a 1-D view of {@code n} elements, or an error if it cannot be one. */
  private INDArray flatView(INDArray buffer, long n, String what) {
    if (buffer.length() != n || buffer.dataType() != dt || buffer.elementWiseStride() != 1) {
      throw new IllegalArgumentException(
          "the "
              + what
              + " buffer must be "
              + n
              + " contiguous "
              + dt
              + " elements, not "
              + buffer.shapeInfoToString());
    }
    return buffer.reshape(n);
  }

  /** Views of a flat buffer laid out as the parameters (names, shapes, order). */
  public Map<String, INDArray> views(INDArray flat) {
    return views(specs, flat);
  }

  /** Views of a 1-D buffer laid out as the parameters of {@code cfg}, without an engine. */
  public static Map<String, INDArray> views(GptConfig cfg, INDArray flat) {
    return views(GptModel.paramSpecs(cfg), flat);
  }

  private static Map<String, INDArray> views(List<GptModel.ParamSpec> specs, INDArray flat) {
    Map<String, INDArray> m = new LinkedHashMap<>();
    long off = 0;
    for (GptModel.ParamSpec s : specs) {
      long len = length(s.shape());
      m.put(s.name(), flat.get(NDArrayIndex.interval(off, off + len)).reshape('c', s.shape()));
      off += len;
    }
    return Collections.unmodifiableMap(m);
  }

  private static List<INDArray> decayedRuns(List<GptModel.ParamSpec> specs, INDArray flat) {
    List<INDArray> runs = new ArrayList<>();
    long off = 0, start = -1;
    for (GptModel.ParamSpec s : specs) {
      if (s.decay() && start < 0) {
        start = off;
      } else if (!s.decay() && start >= 0) {
        runs.add(flat.get(NDArrayIndex.interval(start, off)));
        start = -1;
      }
      off += length(s.shape());
    }
    if (start >= 0) {
      runs.add(flat.get(NDArrayIndex.interval(start, off)));
    }
    return List.copyOf(runs);
  }

  private static long length(long[] shape) {
    long n = 1;
    for (long x : shape) {
      n *= x;
    }
    return n;
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

  /** Parameter views (HF names, canonical order) into the flat parameter buffer. */
  public Map<String, INDArray> params() {
    return params;
  }

  /** Gradient views, same names and shapes, into the flat gradient buffer. */
  public Map<String, INDArray> grads() {
    return grads;
  }

  public INDArray flatParams() {
    return flatParams;
  }

  public INDArray flatGrads() {
    return flatGrads;
  }

  /** Views of the flat parameters that weight decay applies to ({@link #decayed}). */
  public List<INDArray> decayedParams() {
    return decayed;
  }

  /**
   * Copies {@code source} (names and shapes as {@link GptModel#paramSpecs} with the head) into the
   * parameters.
   */
  public void load(Map<String, INDArray> source) {
    GptModel.checkParams(cfg, objective.head(), source);
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      e.getValue().assign(source.get(e.getKey()));
    }
  }

  /** Copies the parameters out into {@code target}'s arrays. */
  public void store(Map<String, INDArray> target) {
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      target.get(e.getKey()).assign(e.getValue());
    }
  }

  public void zeroGrad() {
    flatGrads.assign(0);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Activations: one set per batch size, reused by every step

  /** Per-layer saved activations. */
  private static final class LayerActs {
    INDArray ln1Xhat,
        ln1Rstd,
        ln1,
        qkv,
        att,
        atty,
        res2,
        ln2Xhat,
        ln2Rstd,
        ln2,
        fc,
        fcSig,
        fcGelu,
        res3;
    INDArray qkvh, q, k, v; // heads [3, B*H, T, hs] and its three [B*H, T, hs] parts
    INDArray dropAtt, dropRes1, dropRes2; // dropout masks (null without dropout)
  }

  private final class Acts {
    final int b, n;
    final INDArray encoded;
    final LayerActs[] layers;
    final INDArray lnfXhat, lnfRstd, lnf, logits;
    final INDArray yh; // [B*H, T, hs], attention output before merging heads
    // backward scratch, shared by the layers
    final INDArray dres, dln, dtmp, dAtty, dFc, gA, gB, dQkv, dQkvh, dq, dk, dv, datt, attTmp, dyh;
    final INDArray rowN1, rowN2, attRow, tokWeights, gathered, ones, onesRow;

    /**
     * A packed batch's ({@link Batch#segments()}) position ids and, allocated on first use, the
     * gathered position embeddings [B*T, d] and the block-diagonal causal mask [B*H, T, T];
     * positions null for an unpacked batch.
     */
    int[] positions;

    INDArray posEmb, packedMask;

    /**
     * Whether this pass applies dropout (set by {@link #forward}), its masks and the scratch it
     * needs.
     */
    boolean dropping;

    final INDArray dropEmb, attDropped, dBranch;

    /**
     * Scalar head: scores [B*T, 1] (as a vector [B*T]), their gradient, the bias gradient's sum.
     */
    final INDArray score, scoreVec, dScore, dScoreVec, dScalarB;

    /**
     * Reward model: read positions [B, T], rewards [B], their gradient, pair margins and a pair
     * scratch [B/2].
     */
    final INDArray readAt, readScores, reward, dReward, margin, pairTmp;

    double pairNormalizer;

    /**
     * PPO, per token [B*T]: the targets, the ratio, the kept branches of the two max() and scratch.
     */
    final INDArray probs,
        entropy,
        ratio,
        oldLogp,
        adv,
        ret,
        oldV,
        policy,
        keepPolicy,
        vErr,
        vClipErr,
        keepValue,
        gLogp;

    Acts(int b) {
      int t = seqLen, d = cfg.dModel(), h = cfg.nHead(), hs = cfg.headSize(), f = cfg.mlpWidth();
      this.b = b;
      this.n = b * t;
      encoded = z(n, d);
      layers = new LayerActs[cfg.nLayer()];
      for (int i = 0; i < layers.length; i++) {
        LayerActs a = new LayerActs();
        a.ln1Xhat = z(n, d);
        a.ln1Rstd = z(n);
        a.ln1 = z(n, d);
        a.qkv = z(n, 3 * d);
        a.qkvh = z(3, (long) b * h, t, hs);
        a.q =
            a.qkvh.get(
                NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        a.k =
            a.qkvh.get(
                NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        a.v =
            a.qkvh.get(
                NDArrayIndex.point(2), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        a.att = z((long) b * h, t, t);
        a.atty = z(n, d);
        a.res2 = z(n, d);
        a.ln2Xhat = z(n, d);
        a.ln2Rstd = z(n);
        a.ln2 = z(n, d);
        a.fc = z(n, f);
        a.fcSig = z(n, f);
        a.fcGelu = z(n, f);
        a.res3 = z(n, d);
        layers[i] = a;
      }
      lnfXhat = z(n, d);
      lnfRstd = z(n);
      lnf = z(n, d);
      logits = z(n, cfg.vocabSize());
      yh = z((long) b * h, t, hs);
      dres = z(n, d);
      dln = z(n, d);
      dtmp = z(n, d);
      dAtty = z(n, d);
      dFc = z(n, f);
      gA = z(n, f);
      gB = z(n, f);
      dQkv = z(n, 3 * d);
      dQkvh = z(3, (long) b * h, t, hs);
      dq =
          dQkvh.get(
              NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
      dk =
          dQkvh.get(
              NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
      dv =
          dQkvh.get(
              NDArrayIndex.point(2), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
      datt = z((long) b * h, t, t);
      attTmp = z((long) b * h, t, t);
      dyh = z((long) b * h, t, hs);
      rowN1 = z(n);
      rowN2 = z(n);
      attRow = z((long) b * h, t);
      tokWeights = z(n);
      gathered = z(n);
      ones = Nd4j.ones(dt, n);
      onesRow = ones.reshape(1, n);
      boolean dropout = cfg.dropout() > 0;
      dropEmb = dropout ? z(n, d) : null;
      attDropped = dropout ? z((long) b * h, t, t) : null;
      dBranch = dropout ? z(n, d) : null;
      if (dropout) {
        for (LayerActs la : layers) {
          la.dropAtt = z((long) b * h, t, t);
          la.dropRes1 = z(n, d);
          la.dropRes2 = z(n, d);
        }
      }
      Objective.Kind kind = objective.kind();
      boolean scalar = objective.head() != Head.NONE;
      score = scalar ? z(n, 1) : null;
      scoreVec = scalar ? score.reshape(n) : null;
      dScore = scalar ? z(n, 1) : null;
      dScoreVec = scalar ? dScore.reshape(n) : null;
      dScalarB = scalar ? z(1) : null;
      boolean reward = kind == Objective.Kind.PAIRWISE_REWARD;
      int pairs = Math.max(1, b / 2);
      readAt = reward ? z(b, t) : null;
      readScores = reward ? z(b, t) : null;
      this.reward = reward ? z(b) : null;
      dReward = reward ? z(b) : null;
      margin = reward ? z(pairs) : null;
      pairTmp = reward ? z(pairs) : null;
      boolean ppo = kind == Objective.Kind.PPO;
      probs = ppo ? z(n, cfg.vocabSize()) : null;
      entropy = ppo ? z(n) : null;
      ratio = ppo ? z(n) : null;
      oldLogp = ppo ? z(n) : null;
      adv = ppo ? z(n) : null;
      ret = ppo ? z(n) : null;
      oldV = ppo ? z(n) : null;
      policy = ppo ? z(n) : null;
      keepPolicy = ppo ? z(n) : null;
      vErr = ppo ? z(n) : null;
      vClipErr = ppo ? z(n) : null;
      keepValue = ppo ? z(n) : null;
      gLogp = ppo ? z(n) : null;
    }

    private INDArray z(long... shape) {
      return Nd4j.create(dt, shape);
    }
  }

  private Acts acts(int b) {
    if (inference) {
      throw new IllegalStateException("an inference engine only decodes");
    }
    if (acts == null || acts.b != b) {
      acts = null; // let the old set go before the new one is allocated
      columns.clear();
      acts = new Acts(b);
    }
    return acts;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Running it

  /**
   * Forward and backward of one micro-batch without dropout: adds the gradient of {@code sum_t
   * mask_t * nll_t / normalizer} (the objective's per-token or per-pair terms over {@code
   * normalizer}) to {@link #grads()} (call {@link #zeroGrad} at the start of a step) and returns
   * that loss. Pass the {@link #lossUnits} of the whole step as {@code normalizer}, so that the
   * micro-batches' gradients add up to the step's mean.
   */
  public double forwardBackward(Batch batch, double normalizer) {
    return forwardBackward(batch, normalizer, -1);
  }

  /**
   * As above, with this pass's dropout masks drawn from {@code dropoutSeed} (no dropout when it is
   * negative).
   */
  public double forwardBackward(Batch batch, double normalizer, long dropoutSeed) {
    Acts a = acts(batch.size());
    int[] ids = checkIds(batch);
    double loss = forward(a, ids, batch, normalizer, true, dropoutSeed);
    backward(a, ids);
    return loss;
  }

  /** The objective's loss of a batch over {@code normalizer}, forward only, no dropout. */
  public double loss(Batch batch, double normalizer) {
    Acts a = acts(batch.size());
    return forward(a, checkIds(batch), batch, normalizer, true, -1);
  }

  /**
   * Loss units of a batch, by which a step's loss is normalised: unmasked tokens (LM, PPO) or pairs
   * (reward, DPO).
   */
  public double lossUnits(Batch batch) {
    return objective.pairwise() ? batch.size() / 2 : batch.maskSum();
  }

  /** Logits [B, T, V] of a batch's inputs (a copy). */
  public INDArray logits(Batch batch) {
    if (objective.kind() == Objective.Kind.PAIRWISE_REWARD) {
      throw new IllegalStateException("a reward model has no language-model logits");
    }
    Acts a = acts(batch.size());
    forward(a, checkIds(batch), batch, 1, false, -1);
    return a.logits.reshape(batch.size(), seqLen, cfg.vocabSize()).dup();
  }

  /**
   * Rewards [B] of a reward model: each row's score at the position where its mask is 1; of a DPO
   * policy: the implicit reward {@code beta (pi - ref)} (no dropout).
   */
  public float[] rewards(Batch batch) {
    if (objective.kind() == Objective.Kind.DPO) {
      double[] pi = sequenceLogProbs(batch);
      double[] ref = referenceLogps(batch);
      float[] r = new float[pi.length];
      for (int i = 0; i < r.length; i++) {
        r[i] = (float) (objective.beta() * (pi[i] - ref[i]));
      }
      return r;
    }
    requireObjective(Objective.Kind.PAIRWISE_REWARD);
    Acts a = acts(batch.size());
    forward(a, checkIds(batch), batch, 1, false, -1);
    rewardScores(a, batch);
    return a.reward.toFloatVector();
  }

  /**
   * Per row, {@code sum_t mask_t log p(tokens[b][t+1])}: the sequence's log-probability under a
   * language model (LM or DPO objective) over the masked-in positions, what DPO compares with its
   * reference (no dropout).
   */
  public double[] sequenceLogProbs(Batch batch) {
    if (objective.head() != Head.NONE) {
      throw new IllegalStateException(
          "sequence log-probabilities need a language model, not " + objective.kind());
    }
    Acts a = acts(batch.size());
    forward(a, checkIds(batch), batch, 1, false, -1);
    double[] mask = tokenTargets(a, batch, 1);
    return rowSums(a, targetLogProbs(a, mask, batch.targetsFlat()), mask);
  }

  /**
   * A PPO policy's per-position outputs, each [B][T]: log-probability of the next token {@code
   * tokens[b][t+1]}, value estimate and entropy of the next-token distribution.
   */
  public record PolicyOutputs(float[][] logp, float[][] values, float[][] entropy) {}

  /** {@link PolicyOutputs} of a batch (no dropout; the PPO targets, if any, are not needed). */
  public PolicyOutputs policyOutputs(Batch batch) {
    requireObjective(Objective.Kind.PPO);
    Acts a = acts(batch.size());
    forward(a, checkIds(batch), batch, 1, true, -1);
    long[] shape = {batch.size(), seqLen};
    return new PolicyOutputs(
        a.gathered.reshape(shape).toFloatMatrix(),
        a.scoreVec.reshape(shape).toFloatMatrix(),
        a.entropy.reshape(shape).toFloatMatrix());
  }

  /**
   * Probability ratios {@code exp(logp - old_logp)} [B*T] of the last PPO pass (a copy): the clip
   * fraction's input.
   */
  public INDArray ratios() {
    requireObjective(Objective.Kind.PPO);
    return acts.ratio.dup();
  }

  private void requireObjective(Objective.Kind kind) {
    if (objective.kind() != kind) {
      throw new IllegalStateException("this engine computes " + objective.kind() + ", not " + kind);
    }
  }

  private int[] checkIds(Batch batch) {
    if (batch.seqLen() != seqLen) {
      throw new IllegalArgumentException(
          "batch has sequences of " + batch.seqLen() + " tokens, the engine " + seqLen);
    }
    int[] in = batch.inputsFlat();
    for (int id : in) {
      if (id < 0 || id >= cfg.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + id + " is outside the vocabulary of " + cfg.vocabSize());
      }
    }
    return in;
  }

  /**
   * The whole forward pass; with {@code withLoss}, logits become probabilities (log-probabilities
   * for PPO) and the loss is returned. Dropout applies when the config has it and {@code
   * dropoutSeed >= 0}.
   */
  private double forward(
      Acts a, int[] ids, Batch batch, double normalizer, boolean withLoss, long dropoutSeed) {
    long t0 = clock();
    a.dropping = dropoutRng != null && dropoutSeed >= 0;
    if (a.dropping) {
      drawDropoutMasks(a, dropoutSeed);
    }
    t0 = lap(Kernel.RESIDUAL_BIAS, t0);
    a.positions = batch.segments() == null ? null : batch.positionsFlat();
    if (a.positions != null) {
      packedMask(a, batch.segments());
    }
    encoderForward(a, ids);
    if (a.dropping) {
      a.encoded.muli(a.dropEmb);
    }
    t0 = lap(Kernel.EMBEDDING, t0);
    INDArray x = a.encoded;
    for (int l = 0; l < cfg.nLayer(); l++) {
      Layer p = w.layers[l];
      LayerActs la = a.layers[l];
      layerNormForward(x, p.ln1w, p.ln1b, la.ln1Xhat, la.ln1Rstd, la.ln1);
      linearForward(la.ln1, p.attnW, p.attnB, la.qkv);
      attentionForward(a, la);
      residualLinear(la.atty, p.projW, p.projB, a.dropping ? la.dropRes1 : null, x, la.res2);
      layerNormForward(la.res2, p.ln2w, p.ln2b, la.ln2Xhat, la.ln2Rstd, la.ln2);
      linearForward(la.ln2, p.fcW, p.fcB, la.fc);
      geluForward(la.fc, la.fcSig, la.fcGelu);
      residualLinear(
          la.fcGelu, p.fcProjW, p.fcProjB, a.dropping ? la.dropRes2 : null, la.res2, la.res3);
      x = la.res3;
    }
    layerNormForward(x, w.lnfw, w.lnfb, a.lnfXhat, a.lnfRstd, a.lnf);
    t0 = clock();
    if (objective.kind() != Objective.Kind.PAIRWISE_REWARD) {
      Nd4j.gemm(a.lnf, w.head, a.logits, false, true, 1.0, 0.0);
    }
    if (objective.head() != Head.NONE) {
      scalarHeadForward(a);
    }
    t0 = lap(Kernel.MATMUL, t0);
    if (!withLoss) {
      return 0;
    }
    double loss =
        switch (objective.kind()) {
          case LM -> crossEntropyForward(a, batch, normalizer);
          case PAIRWISE_REWARD -> pairwiseRewardForward(a, batch, normalizer);
          case PPO -> ppoForward(a, batch, normalizer);
          case DPO -> dpoForward(a, batch, normalizer);
        };
    lap(Kernel.LOSS, t0);
    return loss;
  }

  private void backward(Acts a, int[] ids) {
    long t0 = clock();
    switch (objective.kind()) {
      case LM, DPO -> crossEntropyBackward(a);
      case PAIRWISE_REWARD -> pairwiseRewardBackward(a);
      case PPO -> ppoBackward(a);
    }
    t0 = lap(Kernel.LOSS, t0);
    if (objective.head() == Head.NONE) {
      // dlogits = diag(w) G with G = softmax - onehot (in a.logits): dlnf = diag(w) (G @ head) and
      // dhead += G^T @ (diag(w) lnf), so the token weights scale [n, d] arrays instead of the [n,
      // V] one
      mulColumn(a.lnf, a.tokWeights, a.dtmp);
      t0 = lap(Kernel.LOSS, t0);
      Nd4j.gemm(a.logits, w.head, a.dln, false, false, 1.0, 0.0);
      Nd4j.gemm(a.logits, a.dtmp, dw.head, true, false, 1.0, 1.0);
      t0 = lap(Kernel.MATMUL, t0);
      mulColumn(a.dln, a.tokWeights, a.dln);
      lap(Kernel.LOSS, t0);
    } else {
      if (objective.kind() == Objective.Kind.PPO) {
        // the PPO backward left the whole d loss / d logits in a.logits
        Nd4j.gemm(a.logits, w.head, a.dln, false, false, 1.0, 0.0);
        Nd4j.gemm(a.logits, a.lnf, dw.head, true, false, 1.0, 1.0);
      }
      scalarHeadBackward(a, objective.kind() == Objective.Kind.PPO);
      lap(Kernel.MATMUL, t0);
    }
    INDArray dres = a.dres;
    dres.assign(0);
    layerNormBackward(a, a.dln, a.lnfXhat, a.lnfRstd, w.lnfw, dw.lnfw, dw.lnfb, dres);
    for (int l = cfg.nLayer() - 1; l >= 0; l--) {
      Layer p = w.layers[l];
      Layer g = dw.layers[l];
      LayerActs la = a.layers[l];
      // dres holds d(loss)/d(res3); the MLP branch and the skip both receive it
      linearBackward(
          a, la.fcGelu, branchGrad(a, dres, la.dropRes2), p.fcProjW, g.fcProjW, g.fcProjB, a.dFc);
      geluBackward(a, la.fc, la.fcSig, a.dFc);
      linearBackward(a, la.ln2, a.dFc, p.fcW, g.fcW, g.fcB, a.dln);
      layerNormBackward(a, a.dln, la.ln2Xhat, la.ln2Rstd, p.ln2w, g.ln2w, g.ln2b, dres);
      // dres now holds d(loss)/d(res2)
      linearBackward(
          a, la.atty, branchGrad(a, dres, la.dropRes1), p.projW, g.projW, g.projB, a.dAtty);
      attentionBackward(a, la);
      linearBackward(a, la.ln1, a.dQkv, p.attnW, g.attnW, g.attnB, a.dln);
      layerNormBackward(a, a.dln, la.ln1Xhat, la.ln1Rstd, p.ln1w, g.ln1w, g.ln1b, dres);
    }
    t0 = clock();
    if (a.dropping) {
      dres.muli(a.dropEmb);
    }
    encoderBackward(a, ids, dres);
    lap(Kernel.EMBEDDING, t0);
  }

  /**
   * The gradient reaching a residual branch: {@code dres}, times the branch's dropout mask when
   * dropping.
   */
  private static INDArray branchGrad(Acts a, INDArray dres, INDArray mask) {
    return a.dropping ? dres.mul(mask, a.dBranch) : dres;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Dropout: inverted masks, 0 with probability p, else 1 / (1 - p)

  private void drawDropoutMasks(Acts a, long seed) {
    dropoutRng.setSeed(seed);
    drawMask(a.dropEmb);
    for (LayerActs la : a.layers) {
      drawMask(la.dropAtt);
      drawMask(la.dropRes1);
      drawMask(la.dropRes2);
    }
  }

  private void drawMask(INDArray mask) {
    double keep = 1 - cfg.dropout();
    Nd4j.getExecutioner().exec(new BernoulliDistribution(mask, keep), dropoutRng);
    mask.muli(1 / keep);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Encoder: token + position embeddings

  private void encoderForward(Acts a, int[] ids) {
    Nd4j.pullRows(w.wte, a.encoded, 1, ids);
    if (a.positions != null) {
      Nd4j.pullRows(w.wpe, a.posEmb, 1, a.positions);
      a.encoded.addi(a.posEmb);
      return;
    }
    INDArray pos = w.wpe.get(NDArrayIndex.interval(0, seqLen), NDArrayIndex.all());
    Nd4j.exec(
        new BroadcastAddOp(
            a.encoded.reshape(a.b, seqLen, cfg.dModel()),
            pos,
            a.encoded.reshape(a.b, seqLen, cfg.dModel()),
            1,
            2));
  }

  private void encoderBackward(Acts a, int[] ids, INDArray dx) {
    if (a.positions != null) {
      scatterAddRows(dw.wpe, a.positions, dx);
    } else {
      addColumnSums(
          a,
          dx.reshape(a.b, (long) seqLen * cfg.dModel()),
          dw.wpe.get(NDArrayIndex.interval(0, seqLen), NDArrayIndex.all()));
    }
    scatterAddRows(dw.wte, ids, dx);
  }

  /** table[index[i]] += rows[i]. */
  private static void scatterAddRows(INDArray table, int[] index, INDArray rows) {
    ScatterAdd scatter = new ScatterAdd(table, Nd4j.createFromArray(index), rows);
    scatter.addBArgument(
        true); // "use_locking": without it libnd4j adds rows in parallel and loses repeated ids
    scatter.addOutputArgument(table);
    Nd4j.exec(scatter);
  }

  /**
   * A packed batch's attention mask: 0 where key j is at or before query i in the same example,
   * else -1e9.
   */
  private void packedMask(Acts a, int[][] segments) {
    int t = seqLen, h = cfg.nHead();
    if (a.packedMask == null) {
      a.posEmb = Nd4j.create(dt, a.n, cfg.dModel());
      a.packedMask = Nd4j.create(dt, (long) a.b * h, t, t);
    }
    float[] m = new float[t * t];
    for (int b = 0; b < a.b; b++) {
      int[] seg = segments[b];
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < t; j++) {
          m[i * t + j] = j <= i && seg[j] == seg[i] ? 0f : -1e9f;
        }
      }
      INDArray row = Nd4j.create(m, new long[] {t, t}, 'c').castTo(dt);
      for (int k = 0; k < h; k++) {
        a.packedMask
            .get(NDArrayIndex.point((long) b * h + k), NDArrayIndex.all(), NDArrayIndex.all())
            .assign(row);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // LayerNorm: out = (x - mean) / sqrt(var + eps) * g + b, over the last axis

  /**
   * Per-row mean of {@link #layerNormForward} (its variance goes to rstd): n elements, reallocated
   * when n changes.
   */
  private INDArray lnMean;

  private INDArray lnMean(long n) {
    if (lnMean == null || lnMean.length() != n) {
      lnMean = Nd4j.create(dt, n);
      columns.clear();
    }
    return lnMean;
  }

  /**
   * libnd4j's {@code moments} gives mean and (biased) variance in one op; rows are normalised with
   * the broadcasting {@code subtract}/{@code multiply} custom ops against [n, 1] columns: the
   * legacy column broadcasts ({@code BroadcastSubOp} on dimension 0, {@code muliColumnVector}) took
   * 3-15x as long over [2048, 256]. Without {@code xhat} (inference: nothing is kept for a
   * backward; {@code rstd} then receives the variance) it is four ops: {@code moments}, libnd4j's
   * {@code batchnorm} over the rows ((x - mean) / sqrt(var + eps), the rows' statistics as its
   * "channels"), the gain and the bias.
   */
  private void layerNormForward(
      INDArray x, INDArray g, INDArray b, INDArray xhat, INDArray rstd, INDArray out) {
    long t0 = clock();
    long n = x.rows();
    if (xhat == null) {
      INDArray mean = lnMean(n);
      custom("moments", in(x), out(mean, rstd), NO_T, 1);
      custom("batchnorm", in(x, mean, rstd), out(out), new double[] {GptConfig.LN_EPS}, 0, 0, 0);
      custom("multiply", in(out, g), out(out), NO_T);
      if (b != null) {
        custom("add", in(out, b), out(out), NO_T);
      }
      lap(Kernel.LAYERNORM, t0);
      return;
    }
    INDArray lnMean = lnMean(n);
    Nd4j.exec(
        DynamicCustomOp.builder("moments")
            .addInputs(x)
            .addOutputs(lnMean, rstd)
            .addIntegerArguments(1)
            .build());
    Transforms.pow(rstd.addi(GptConfig.LN_EPS), -0.5, false);
    Nd4j.exec(new SubOp(x, column(lnMean), xhat));
    mulColumn(xhat, rstd, xhat);
    Nd4j.exec(new BroadcastMulOp(xhat, g, out, 1));
    if (b != null) {
      out.addiRowVector(b);
    }
    lap(Kernel.LAYERNORM, t0);
  }

  /**
   * dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * g; dout is
   * overwritten. The two row means are GEMVs with the gain, {@code mean(dxhat) = dout @ g / d} and
   * {@code mean(dxhat * xhat) = (dout * xhat) @ g / d}, the latter on the product the gain's
   * gradient needs anyway.
   */
  private void layerNormBackward(
      Acts a,
      INDArray dout,
      INDArray xhat,
      INDArray rstd,
      INDArray g,
      INDArray dg,
      INDArray db,
      INDArray dx) {
    long t0 = clock();
    INDArray tmp = a.dtmp;
    dout.mul(xhat, tmp);
    addColumnSums(a, tmp, dg);
    if (db != null) {
      addColumnSums(a, dout, db);
    }
    Nd4j.gemm(tmp, column(g), column(a.rowN2), false, false, 1.0 / g.length(), 0.0);
    Nd4j.gemm(dout, column(g), column(a.rowN1), false, false, 1.0 / g.length(), 0.0);
    dout.muliRowVector(g); // dxhat
    mulColumn(xhat, a.rowN2, tmp);
    dout.subi(tmp);
    Nd4j.exec(new SubOp(dout, column(a.rowN1), dout));
    mulColumn(dout, rstd, dout);
    dx.addi(dout);
    lap(Kernel.LAYERNORM, t0);
  }

  /**
   * z = m * col, row i scaled by col[i] (m [n, k], col n elements), by the broadcasting {@code
   * multiply} op.
   */
  private void mulColumn(INDArray m, INDArray col, INDArray z) {
    Nd4j.exec(new MulOp(m, column(col), z));
  }

  /**
   * [n, 1] views of the engine's vectors, made once each (a view costs about as much as a small
   * op).
   */
  private final Map<INDArray, INDArray> columns = new IdentityHashMap<>();

  private INDArray column(INDArray vector) {
    return columns.computeIfAbsent(vector, v -> v.reshape(v.length(), 1));
  }

  /** 1-D views of the engine's one-row arrays, made once each, and kept with {@link #columns}. */
  private final Map<INDArray, INDArray> vectors = new IdentityHashMap<>();

  private INDArray vector(INDArray row) {
    return vectors.computeIfAbsent(row, r -> r.reshape(r.length()));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Linear (GPT-2 Conv1D layout): out = in @ W + b, W [in, out]

  /**
   * While decoding one row: {@code matmul(W, in, transpose W)} on vectors, the BLAS matrix-vector
   * product reading W [in, out] in place (6-20x faster here than a GEMM of one row, which packs W
   * first, or libnd4j's vector-matrix path, which copies it), then the bias; several rows:
   * libnd4j's {@code xw_plus_b}.
   */
  private void linearForward(INDArray in, INDArray weight, INDArray bias, INDArray out) {
    long t0 = clock();
    if (replay != null && in.rows() == 1) {
      custom("matmul", in(weight, vector(in)), out(vector(out)), NO_T, 1, 0, 0);
      t0 = lap(Kernel.MATMUL, t0);
      if (bias != null) {
        custom("add", in(out, bias), out(out), NO_T);
      }
      lap(Kernel.RESIDUAL_BIAS, t0);
      return;
    }
    if (replay != null) {
      if (bias != null) {
        custom("xw_plus_b", in(in, weight, bias), out(out), NO_T);
      } else {
        custom("matmul", in(in, weight), out(out), NO_T);
      }
      lap(Kernel.MATMUL, t0);
      return;
    }
    if (bias != null) {
      Nd4j.exec(new BroadcastCopyOp(out, bias, out, 1));
      t0 = lap(Kernel.RESIDUAL_BIAS, t0);
    }
    Nd4j.gemm(in, weight, out, false, false, 1.0, bias != null ? 1.0 : 0.0);
    lap(Kernel.MATMUL, t0);
  }

  /**
   * out = residual + dropout(in @ W + b) in training. Without dropout the GEMM accumulates onto
   * {@code residual + b}: one pass instead of three.
   */
  private void residualLinear(
      INDArray in, INDArray weight, INDArray bias, INDArray drop, INDArray residual, INDArray out) {
    if (drop != null) {
      linearForward(in, weight, bias, out);
      long t0 = clock();
      out.muli(drop).addi(residual);
      lap(Kernel.RESIDUAL_BIAS, t0);
      return;
    }
    long t0 = clock();
    if (bias != null) {
      Nd4j.exec(new BroadcastAddOp(residual, bias, out, 1));
    } else {
      out.assign(residual);
    }
    t0 = lap(Kernel.RESIDUAL_BIAS, t0);
    Nd4j.gemm(in, weight, out, false, false, 1.0, 1.0);
    lap(Kernel.MATMUL, t0);
  }

  /** din = dout @ W^T (overwritten); dW += in^T @ dout; db += sum over rows of dout. */
  private void linearBackward(
      Acts a,
      INDArray in,
      INDArray dout,
      INDArray weight,
      INDArray dWeight,
      INDArray dBias,
      INDArray din) {
    long t0 = clock();
    Nd4j.gemm(dout, weight, din, false, true, 1.0, 0.0);
    Nd4j.gemm(in, dout, dWeight, true, false, 1.0, 1.0);
    t0 = lap(Kernel.MATMUL, t0);
    if (dBias != null) {
      addColumnSums(a, dout, dBias);
    }
    lap(Kernel.RESIDUAL_BIAS, t0);
  }

  /**
   * acc += the column sums of m [rows, cols] (acc: cols elements, contiguous), as the product
   * ones[1, rows] @ m accumulated by the GEMM: a third of the time of libnd4j's reduction over
   * dimension 0 plus an add.
   */
  private static void addColumnSums(Acts a, INDArray m, INDArray acc) {
    INDArray ones =
        m.rows() == a.n
            ? a.onesRow
            : a.onesRow.get(NDArrayIndex.all(), NDArrayIndex.interval(0, m.rows()));
    Nd4j.gemm(ones, m, acc.reshape(1, m.columns()), false, false, 1.0, 1.0);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Causal self-attention over qkv [B*T, 3d] (q, k, v along the output axis), heads of size hs

  private void attentionForward(Acts a, LayerActs la) {
    int t = seqLen, h = cfg.nHead(), hs = cfg.headSize();
    long t0 = clock();
    // [B, T, 3, H, hs] -> [3, B, H, T, hs]: q, k, v as contiguous [B*H, T, hs] blocks
    la.qkvh
        .reshape(3, a.b, h, t, hs)
        .assign(la.qkv.reshape(a.b, t, 3, h, hs).permute(2, 0, 3, 1, 4));
    t0 = lap(Kernel.RESIDUAL_BIAS, t0);
    causalAttention(
        la.q,
        la.k,
        la.v,
        a.positions != null ? a.packedMask : causalMask,
        la.att,
        a.dropping ? la.dropAtt : null,
        a.attDropped,
        a.yh);
    t0 = clock();
    // [B, H, T, hs] -> [B, T, H, hs] = [B*T, d]
    la.atty.reshape(a.b, t, h, hs).assign(a.yh.reshape(a.b, h, t, hs).permute(0, 2, 1, 3));
    lap(Kernel.RESIDUAL_BIAS, t0);
  }

  /**
   * att = softmax(q k^T / sqrt(hs) + mask), y = att v, per group (batch row and head): q [G, n, hs]
   * against k, v [G, m, hs], mask [n, m] (0 or -1e9; or [G, n, m], one per group, for a packed
   * batch), att [G, n, m], y [G, n, hs]. With a dropout mask {@code drop}, y = (att * drop) v, the
   * product written to {@code dropped}; att keeps the probabilities.
   */
  private void causalAttention(
      INDArray q,
      INDArray k,
      INDArray v,
      INDArray mask,
      INDArray att,
      INDArray drop,
      INDArray dropped,
      INDArray y) {
    long t0 = clock();
    if (replay != null && mask.rank() == 2 && drop == null) {
      // decoding: the same four steps as libnd4j custom ops (matmul's tArgs alpha, beta; iArgs
      // transposes)
      custom(
          "matmul",
          in(q, k),
          out(att),
          new double[] {1.0 / Math.sqrt(cfg.headSize()), 0.0},
          0,
          1,
          0);
      t0 = lap(Kernel.MATMUL, t0);
      custom("add", in(att, mask), out(att), NO_T);
      custom("softmax", in(att), out(att), NO_T, -1);
      t0 = lap(Kernel.ATTN_SOFTMAX, t0);
      custom("matmul", in(att, v), out(y), NO_T);
      lap(Kernel.MATMUL, t0);
      return;
    }
    long n = q.size(1), off = k.size(1) - n; // query row i sits at key position off + i
    int nb = causalBlocks(n);
    MMulTranspose transB = MMulTranspose.builder().transposeB(true).build();
    for (int j = 0; j < nb; j++) { // keys after a block's last row: left as they are, masked
      long r0 = n * j / nb, r1 = n * (j + 1) / nb;
      Nd4j.exec(
          new Mmul(
              rows(q, r0, r1),
              rows(k, 0, off + r1),
              block(att, r0, r1, 0, off + r1),
              1.0 / Math.sqrt(cfg.headSize()),
              0.0,
              transB));
    }
    t0 = lap(Kernel.MATMUL, t0);
    if (mask != null && mask.rank() == 3) {
      att.addi(mask);
    } else if (mask != null) {
      Nd4j.exec(new BroadcastAddOp(att, mask, att, 1, 2));
    }
    Nd4j.exec(new SoftMax(att, att, -1));
    t0 = lap(Kernel.ATTN_SOFTMAX, t0);
    INDArray probs = drop == null ? att : att.mul(drop, dropped);
    for (int j = 0; j < nb; j++) {
      long r0 = n * j / nb, r1 = n * (j + 1) / nb;
      Nd4j.exec(
          new Mmul(
              block(probs, r0, r1, 0, off + r1),
              rows(v, 0, off + r1),
              rows(y, r0, r1),
              1.0,
              0.0,
              MMulTranspose.allFalse()));
    }
    lap(Kernel.MATMUL, t0);
  }

  /**
   * Row blocks for the products with causal attention probabilities: a block of query rows [r0, r1)
   * has probability 0 for every key after r1 (masked, so exactly 0 after the softmax), and its
   * product with the values, or the transposed one of the backward, reads the keys [0, r1) only.
   * Blocks of about 64 rows: the four such products of a {@code small} step (1 thread) took 268 ms
   * whole and 232 ms in 4 blocks (in isolation [64, 256, 256] x [64, 256, 32] took 30 ms whole and
   * 15 ms in blocks). q k^T and its gradient's dy v^T run in the same blocks (15.7 against 13.7 ms
   * for a {@code small} layer's q k^T): the entries they skip keep the finite values of an earlier
   * pass (zeros: the probabilities there are exactly 0, and so is the softmax backward's output),
   * which the mask's -1e9 and those zero probabilities turn into the same exact zeros as computed
   * ones would.
   */
  private static int causalBlocks(long n) {
    return (int) Math.min(n, Math.min(16, Math.max(2, (n + 63) / 64)));
  }

  /** Rows [r0, r1) of every matrix of a [G, rows, cols] stack (the stack itself when whole). */
  private static INDArray rows(INDArray m, long r0, long r1) {
    return r0 == 0 && r1 == m.size(1)
        ? m
        : m.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
  }

  /** Rows [r0, r1) and columns [c0, c1) of every matrix of a [G, rows, cols] stack. */
  private static INDArray block(INDArray m, long r0, long r1, long c0, long c1) {
    return r0 == 0 && r1 == m.size(1) && c0 == 0 && c1 == m.size(2)
        ? m
        : m.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r1), NDArrayIndex.interval(c0, c1));
  }

  /** From dAtty (d loss / d merged heads) to dQkv. */
  private void attentionBackward(Acts a, LayerActs la) {
    int t = seqLen, h = cfg.nHead(), hs = cfg.headSize();
    long t0 = clock();
    a.dyh.reshape(a.b, h, t, hs).assign(a.dAtty.reshape(a.b, t, h, hs).permute(0, 2, 1, 3));
    t0 = lap(Kernel.RESIDUAL_BIAS, t0);
    int nb = causalBlocks(t);
    MMulTranspose transA = MMulTranspose.builder().transposeA(true).build();
    MMulTranspose transB = MMulTranspose.builder().transposeB(true).build();
    for (int j = 0; j < nb; j++) { // datt rows [r0, r1) = dy[r0:r1] v[:r1]^T, as the forward
      long r0 = (long) t * j / nb, r1 = (long) t * (j + 1) / nb;
      Nd4j.exec(
          new Mmul(
              rows(a.dyh, r0, r1),
              rows(la.v, 0, r1),
              block(a.datt, r0, r1, 0, r1),
              1.0,
              0.0,
              transB));
    }
    INDArray probs = a.dropping ? la.att.mul(la.dropAtt, a.attDropped) : la.att;
    for (int j = 0; j < nb; j++) { // dv rows [c0, c1) = probs[c0:, c0:c1]^T dy[c0:]
      long c0 = (long) t * j / nb, c1 = (long) t * (j + 1) / nb;
      Nd4j.exec(
          new Mmul(
              block(probs, c0, t, c0, c1),
              rows(a.dyh, c0, t),
              rows(a.dv, c0, c1),
              1.0,
              0.0,
              transA));
    }
    if (a.dropping) {
      a.datt.muli(la.dropAtt);
    }
    t0 = lap(Kernel.MATMUL, t0);
    // softmax backward: dpre = att * (datt - sum(datt * att, -1)); masked entries have att = 0
    a.datt.mul(la.att, a.attTmp).sum(a.attRow, 2);
    Nd4j.exec(new BroadcastSubOp(a.datt, a.attRow, a.datt, 0, 1));
    a.datt.muli(la.att);
    t0 = lap(Kernel.ATTN_SOFTMAX, t0);
    double scale = 1.0 / Math.sqrt(hs);
    for (int j = 0; j < nb; j++) { // datt is 0 wherever att is: the same blocks as the forward
      long r0 = (long) t * j / nb, r1 = (long) t * (j + 1) / nb;
      Nd4j.exec(
          new Mmul(
              block(a.datt, r0, r1, 0, r1),
              rows(la.k, 0, r1),
              rows(a.dq, r0, r1),
              scale,
              0.0,
              MMulTranspose.allFalse()));
      Nd4j.exec(
          new Mmul(
              block(a.datt, r0, t, r0, r1),
              rows(la.q, r0, t),
              rows(a.dk, r0, r1),
              scale,
              0.0,
              transA));
    }
    t0 = lap(Kernel.MATMUL, t0);
    a.dQkv
        .reshape(a.b, t, 3, h, hs)
        .permute(2, 0, 3, 1, 4)
        .assign(a.dQkvh.reshape(3, a.b, h, t, hs));
    lap(Kernel.RESIDUAL_BIAS, t0);
  }

  // ------------------------------------------------------------------------------------------------------------
  // GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = c (x + k x^3)
  // (the sigmoid form: libnd4j's sigmoid costs less than half its tanh, and the backward reuses it)

  /**
   * out = x s with s = sigmoid(2u), kept for the backward. While decoding five custom ops, 2u as
   * {@code axpy(2c, x^2) x} with {@link DecodeActs#geluC} holding 2c (libnd4j's {@code axpy} is x +
   * a y).
   */
  private void geluForward(INDArray x, INDArray s, INDArray out) {
    long t0 = clock();
    if (replay != null) {
      custom("multiply", in(x, x), out(s), NO_T);
      custom(
          "axpy", in(decodeActs.geluC, s), out(s), new double[] {2 * GELU_K * GELU_C}); // x + a y
      custom("multiply", in(s, x), out(s), NO_T);
      custom("sigmoid", in(s), out(s), NO_T);
      custom("multiply", in(s, x), out(out), NO_T);
      lap(Kernel.GELU, t0);
      return;
    }
    x.mul(x, s).muli(2 * GELU_K * GELU_C).addi(2 * GELU_C).muli(x); // 2u
    Nd4j.exec(new Sigmoid(s, s));
    s.mul(x, out);
    lap(Kernel.GELU, t0);
  }

  /**
   * d gelu / dx = s + x s (1 - s) 2u', 2u' = 2c (1 + 3k x^2), s = sigmoid(2u) from the forward;
   * {@code dout} becomes dx.
   */
  private void geluBackward(Acts a, INDArray x, INDArray s, INDArray dout) {
    long t0 = clock();
    INDArray xdu = a.gA, grad = a.gB;
    x.mul(x, xdu).muli(6 * GELU_K * GELU_C).addi(2 * GELU_C).muli(x); // x 2u'
    s.rsub(1.0, grad).muli(s).muli(xdu).addi(s);
    dout.muli(grad);
    lap(Kernel.GELU, t0);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Cross-entropy with per-token weights w_t = mask_t / normalizer: loss = -sum_t w_t log
  // p_t[target_t]

  private INDArray targetIndex;

  /**
   * Sets the token weights (mask / normalizer) and the flat indexes of the targets in [n, V];
   * returns the weights.
   */
  private double[] tokenTargets(Acts a, Batch batch, double normalizer) {
    int v = cfg.vocabSize();
    int[] targets = batch.targetsFlat();
    float[] mask = batch.maskFlat();
    double[] wt = new double[a.n];
    long[] idx = new long[a.n];
    for (int i = 0; i < a.n; i++) {
      wt[i] = mask[i] / normalizer;
      idx[i] = (long) i * v + targets[i];
    }
    a.tokWeights.assign(Nd4j.createFromArray(wt));
    targetIndex = Nd4j.createFromArray(idx);
    return wt;
  }

  private double crossEntropyForward(Acts a, Batch batch, double normalizer) {
    double[] wt = tokenTargets(a, batch, normalizer);
    double[] logp = targetLogProbs(a, wt, batch.targetsFlat());
    double loss = 0;
    for (int i = 0; i < a.n; i++) {
      loss -= wt[i] * logp[i];
    }
    return loss;
  }

  /**
   * log p of each target whose weight is non-zero (0 elsewhere), from the logits, which become the
   * probabilities in place: libnd4j's softmax costs a third of its log_softmax over [n, V], and the
   * backward needs the probabilities; only the n gathered ones are logged.
   */
  private double[] targetLogProbs(Acts a, double[] wt, int[] targets) {
    Nd4j.exec(new SoftMax(a.logits, a.logits, -1));
    Gather gather = new Gather(a.logits.reshape(-1), targetIndex, 0);
    gather.addOutputArgument(a.gathered);
    Nd4j.exec(gather);
    double[] p = a.gathered.toDoubleVector();
    double[] logp = new double[a.n];
    for (int i = 0; i < a.n; i++) {
      if (wt[i] != 0) {
        logp[i] = p[i] >= Float.MIN_NORMAL ? Math.log(p[i]) : exactLogProb(a, i, targets[i]);
      }
    }
    return logp;
  }

  /** Per row, sum_t mask_t logp_t. */
  private double[] rowSums(Acts a, double[] logp, double[] mask) {
    double[] out = new double[a.b];
    for (int i = 0; i < a.n; i++) {
      out[i / seqLen] += mask[i] * logp[i];
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------------------
  // DPO: rows [0, P) chosen, [P, 2P) the matching rejected; z = beta ((pi_c - ref_c) - (pi_r -
  // ref_r)),
  // loss = sum_pairs softplus(-z) / normalizer. d loss / d pi_c = -beta sigmoid(-z) / normalizer =
  // -d loss / d pi_r,
  // and d pi / d logits_t = -mask_t G_t (G = softmax - onehot): the cross-entropy backward with
  // token weights
  // +-beta sigmoid(-z) mask_t / normalizer, set here for it.

  private double dpoForward(Acts a, Batch batch, double normalizer) {
    if (a.b % 2 != 0) {
      throw new IllegalArgumentException(
          "a DPO batch holds chosen/rejected pairs: an even number of rows, not " + a.b);
    }
    double[] ref = referenceLogps(batch);
    double[] mask = tokenTargets(a, batch, 1);
    double[] pi = rowSums(a, targetLogProbs(a, mask, batch.targetsFlat()), mask);
    int p = a.b / 2;
    double beta = objective.beta();
    double[] wt = new double[a.n];
    double loss = 0;
    for (int i = 0; i < p; i++) {
      double z = beta * ((pi[i] - ref[i]) - (pi[p + i] - ref[p + i]));
      loss += z > 0 ? Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)) - z; // softplus(-z)
      double g = beta / (1 + Math.exp(z)) / normalizer;
      for (int t = 0; t < seqLen; t++) {
        wt[i * seqLen + t] = g * mask[i * seqLen + t];
        wt[(p + i) * seqLen + t] = -g * mask[(p + i) * seqLen + t];
      }
    }
    a.tokWeights.assign(Nd4j.createFromArray(wt));
    return loss / normalizer;
  }

  private static double[] referenceLogps(Batch batch) {
    if (batch.referenceLogps() == null) {
      throw new IllegalArgumentException(
          "a DPO batch needs the reference model's log-probabilities");
    }
    return batch.referenceLogps();
  }

  /**
   * log softmax(logits_i)[target] from row i's logits recomputed, for a probability that
   * underflowed the float range.
   */
  private double exactLogProb(Acts a, int i, int target) {
    INDArray row = Nd4j.create(dt, 1, cfg.vocabSize());
    Nd4j.gemm(
        a.lnf.get(NDArrayIndex.interval(i, i + 1), NDArrayIndex.all()),
        w.head,
        row,
        false,
        true,
        1.0,
        0.0);
    Nd4j.exec(new LogSoftMax(row, row));
    return row.getDouble(0, target);
  }

  /**
   * G = softmax - onehot(target), written over the probabilities; the token weights are applied by
   * the caller.
   */
  private void crossEntropyBackward(Acts a) {
    INDArray flat = a.logits.reshape(-1);
    ScatterSub sub = new ScatterSub(flat, targetIndex, a.ones);
    sub.addOutputArgument(flat);
    Nd4j.exec(sub);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Scalar head (reward score, PPO value): s = ln_f(x) @ w + b, one per position

  private void scalarHeadForward(Acts a) {
    Nd4j.gemm(a.lnf, w.scalarW, a.score, false, false, 1.0, 0.0);
    a.score.addiRowVector(w.scalarB);
  }

  /**
   * From dScore: dw += lnf^T dScore, db += sum(dScore), dlnf = dScore w^T (added to dlnf when
   * {@code add}).
   */
  private void scalarHeadBackward(Acts a, boolean add) {
    Nd4j.gemm(a.lnf, a.dScore, dw.scalarW, true, false, 1.0, 1.0);
    dw.scalarB.addi(a.dScore.sum(a.dScalarB, 0));
    Nd4j.gemm(a.dScore, w.scalarW, a.dln, false, true, 1.0, add ? 1.0 : 0.0);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Pairwise reward: rows [0, P) chosen, [P, 2P) the matching rejected; r_b = score at the row's
  // read position
  // (its mask, one-hot); loss = sum_pairs softplus(-(r_chosen - r_rejected)) / normalizer = -log
  // sigmoid(...)

  private void rewardScores(Acts a, Batch batch) {
    a.readAt.assign(Nd4j.create(batch.maskFlat(), new long[] {a.b, seqLen}, 'c'));
    a.scoreVec.reshape(a.b, seqLen).mul(a.readAt, a.readScores).sum(a.reward, 1);
  }

  private double pairwiseRewardForward(Acts a, Batch batch, double normalizer) {
    if (a.b % 2 != 0) {
      throw new IllegalArgumentException(
          "a reward batch holds chosen/rejected pairs: an even number of rows, not " + a.b);
    }
    rewardScores(a, batch);
    int p = a.b / 2;
    a.reward
        .get(NDArrayIndex.interval(0, p))
        .sub(a.reward.get(NDArrayIndex.interval(p, 2 * p)), a.margin);
    a.pairNormalizer = normalizer;
    Transforms.softPlus(a.pairTmp.assign(a.margin).negi(), false);
    return a.pairTmp.sumNumber().doubleValue() / normalizer;
  }

  /**
   * d loss / d margin = -sigmoid(-margin) / normalizer, +1 to the chosen reward, -1 to the rejected
   * one.
   */
  private void pairwiseRewardBackward(Acts a) {
    int p = a.b / 2;
    Transforms.sigmoid(a.pairTmp.assign(a.margin).negi(), false).divi(-a.pairNormalizer);
    a.dReward.get(NDArrayIndex.interval(0, p)).assign(a.pairTmp);
    a.dReward.get(NDArrayIndex.interval(p, 2 * p)).assign(a.pairTmp).negi();
    Nd4j.exec(new BroadcastMulOp(a.readAt, a.dReward, a.dScoreVec.reshape(a.b, seqLen), 0));
  }

  // ------------------------------------------------------------------------------------------------------------
  // PPO on the positions where the mask is 1 (response tokens), weights w_t = mask_t / normalizer:
  // loss = sum_t w_t (policy_t + c_v value_t - c_e entropy_t), see Objective

  private double ppoForward(Acts a, Batch batch, double normalizer) {
    tokenTargets(a, batch, normalizer);
    // logits -> log-probabilities in place (the entropy and the backward need them all), logp of
    // the targets
    Nd4j.exec(new LogSoftMax(a.logits, a.logits));
    Gather gather = new Gather(a.logits.reshape(-1), targetIndex, 0);
    gather.addOutputArgument(a.gathered);
    Nd4j.exec(gather);
    Nd4j.exec(new Exp(a.logits, a.probs));
    a.probs.muli(a.logits).sum(a.entropy, 1).negi();
    Batch.PpoTargets t = batch.ppo();
    // without targets (scoring rollouts) the loss inputs are zeros
    assignRows(a.oldLogp, t == null ? null : t.oldLogp());
    assignRows(a.adv, t == null ? null : t.advantages());
    assignRows(a.ret, t == null ? null : t.returns());
    assignRows(a.oldV, t == null ? null : t.oldValues());
    double e = objective.clipRange(), c = objective.valueClip();
    // policy = max(-A r, -A clip(r, 1-e, 1+e)), r = exp(logp - old_logp); keepPolicy = 1 where the
    // first is kept
    Transforms.exp(a.gathered.sub(a.oldLogp, a.ratio), false);
    INDArray clipped =
        Transforms.min(Transforms.max(a.policy.assign(a.ratio), 1 - e, false), 1 + e, false)
            .muli(a.adv)
            .negi();
    INDArray unclipped = a.ratio.mul(a.adv, a.gLogp).negi();
    keepFirst(unclipped, clipped, a.keepPolicy);
    clipped.addi(unclipped.subi(clipped).muli(a.keepPolicy)); // the max, in policy
    // value = 0.5 max((v-R)^2, (v_clip-R)^2), v_clip = old_v + clip(v - old_v, -c, c) computed as
    // min(max(v, old_v - c), old_v + c): exactly v inside the range, so that the two terms tie
    // there
    a.scoreVec.sub(a.ret, a.vErr);
    Transforms.max(a.oldV.sub(c, a.vClipErr), a.scoreVec, false);
    Transforms.min(a.vClipErr, a.oldV.add(c, a.gLogp), false).subi(a.ret);
    INDArray sq = a.vErr.mul(a.vErr, a.gLogp), sqClip = a.vClipErr.mul(a.vClipErr, a.vClipErr);
    keepFirst(sq, sqClip, a.keepValue);
    sqClip.addi(sq.subi(sqClip).muli(a.keepValue)).muli(0.5 * objective.valueCoef());
    a.policy.addi(sqClip).subi(a.entropy.mul(objective.entropyCoef(), a.gLogp));
    return a.policy.muli(a.tokWeights).sumNumber().doubleValue();
  }

  private static void assignRows(INDArray target, float[][] rows) {
    if (rows == null) {
      target.assign(0);
    } else {
      target.assign(Nd4j.create(Batch.flat(rows), new long[] {target.length()}, 'c'));
    }
  }

  /**
   * keep = 1 where first >= second, else 0 (ties keep the first: inside the clip range both terms
   * are equal).
   */
  private static void keepFirst(INDArray first, INDArray second, INDArray keep) {
    Transforms.step(second.sub(first, keep), false).rsubi(1.0);
  }

  /**
   * d loss / d logits = P (w c_e (logP + H) - g) + g onehot(target), g = d loss / d logp = -w A r
   * [first kept]; d loss / d value = w c_v (v - R) [unclipped kept] (a clipped term has no gradient
   * in v).
   */
  private void ppoBackward(Acts a) {
    a.adv.mul(a.keepPolicy, a.gLogp).muli(a.ratio).muli(a.tokWeights).negi();
    Nd4j.exec(new Exp(a.logits, a.probs));
    a.logits
        .addiColumnVector(a.entropy)
        .muliColumnVector(a.tokWeights)
        .muli(objective.entropyCoef())
        .subiColumnVector(a.gLogp)
        .muli(a.probs);
    INDArray flat = a.logits.reshape(-1);
    ScatterAdd add = new ScatterAdd(flat, targetIndex, a.gLogp);
    add.addOutputArgument(flat);
    Nd4j.exec(add);
    a.vErr.mul(a.keepValue, a.dScoreVec).muli(a.tokWeights).muli(objective.valueCoef());
  }

  // ------------------------------------------------------------------------------------------------------------
  // Generation: the same kernels over one sequence, keys and values of earlier positions cached

  /**
   * Keys and values of the positions decoded so far: per layer [H, blockSize, hs]; rows [0, length)
   * filled. A single new token attends to the whole cache through {@code mask} [1, blockSize] (0 at
   * filled positions, -1e9 elsewhere: their probabilities are exactly 0), so that no view of the
   * filled part is made per token; its keys and values are written by {@code scatter_upd} into the
   * rows {@code slots} ([H], {@code h * blockSize + position}) of the caches seen as [H *
   * blockSize, hs].
   */
  public static final class KvCache {
    private final INDArray[] k;
    private final INDArray[] v;
    private final INDArray[] kRows;
    private final INDArray[] vRows;
    private final INDArray slots;
    private final INDArray mask;
    private final int blockSize;
    private int length;

    public KvCache(GptConfig c) {
      blockSize = c.blockSize();
      k = new INDArray[c.nLayer()];
      v = new INDArray[c.nLayer()];
      kRows = new INDArray[c.nLayer()];
      vRows = new INDArray[c.nLayer()];
      for (int l = 0; l < k.length; l++) {
        k[l] = Nd4j.create(c.nd4jType(), c.nHead(), blockSize, c.headSize());
        v[l] = Nd4j.create(c.nd4jType(), c.nHead(), blockSize, c.headSize());
        kRows[l] = k[l].reshape((long) c.nHead() * blockSize, c.headSize());
        vRows[l] = v[l].reshape((long) c.nHead() * blockSize, c.headSize());
      }
      slots = Nd4j.create(DataType.INT32, c.nHead());
      mask = Nd4j.valueArrayOf(new long[] {1, blockSize}, -1e9, c.nd4jType());
    }

    public int length() {
      return length;
    }

    public void clear() {
      length = 0;
      mask.assign(-1e9);
    }

    /** Points {@link #slots} at position p of every head. */
    private void slotsAt(int p) {
      for (int h = 0; h < slots.length(); h++) {
        slots.putScalar(h, h * blockSize + p);
      }
    }
  }

  /**
   * Activations of {@link #decode} for n new tokens, with the head views into them and the ops of
   * the last pass ({@link Replay}); reused while n repeats. For one token q, k and v are views of
   * {@code qkv} and the merged heads a view of {@code y}: no copies.
   */
  private final class DecodeActs {
    final int n;
    final INDArray ids,
        positions,
        x,
        posRows,
        mean,
        var,
        ln,
        qkv,
        q,
        y,
        atty,
        branch,
        fc,
        fcSig,
        fcGelu,
        geluC,
        logits;

    /** One token's attention over the whole cache [H, 1, blockSize] (null for n > 1). */
    final INDArray attAll;

    /** One token: its new keys and values [H, hs]; several: the copies' sources. */
    final INDArray kNew, vNew, qSrc, kSrc, vSrc, attyHeads, yMerged;

    /** One token: the logits as a vector, the head's product target. */
    final INDArray logitsVec, lnVec;

    final Replay replay = new Replay();

    DecodeActs(int n) {
      int d = cfg.dModel(), h = cfg.nHead(), hs = cfg.headSize(), f = cfg.mlpWidth();
      this.n = n;
      ids = Nd4j.create(DataType.INT32, n);
      positions = Nd4j.create(DataType.INT32, n);
      x = Nd4j.create(dt, n, d);
      posRows = Nd4j.create(dt, n, d);
      mean = Nd4j.create(dt, n);
      var = Nd4j.create(dt, n);
      ln = Nd4j.create(dt, n, d);
      qkv = Nd4j.create(dt, n, 3 * d);
      y = Nd4j.create(dt, h, n, hs);
      branch = Nd4j.create(dt, n, d);
      fc = Nd4j.create(dt, n, f);
      fcSig = Nd4j.create(dt, n, f);
      fcGelu = Nd4j.create(dt, n, f);
      geluC = Nd4j.valueArrayOf(new long[] {n, f}, 2 * GELU_C, dt);
      logits = Nd4j.create(dt, n, cfg.vocabSize());
      if (n == 1) {
        attAll = Nd4j.create(dt, h, 1, cfg.blockSize());
        INDArray parts = qkv.reshape(3, h, hs);
        q =
            parts
                .get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all())
                .reshape(h, 1, hs);
        kNew = parts.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all());
        vNew = parts.get(NDArrayIndex.point(2), NDArrayIndex.all(), NDArrayIndex.all());
        atty = y.reshape(1, d);
        logitsVec = logits.reshape(cfg.vocabSize());
        lnVec = ln.reshape(d);
        qSrc = kSrc = vSrc = attyHeads = yMerged = null;
      } else {
        attAll = kNew = vNew = logitsVec = lnVec = null;
        q = Nd4j.create(dt, h, n, hs);
        atty = Nd4j.create(dt, n, d);
        INDArray heads = qkv.reshape(n, 3, h, hs).permute(1, 2, 0, 3); // [3, H, n, hs]
        qSrc =
            heads.get(
                NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        kSrc =
            heads.get(
                NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        vSrc =
            heads.get(
                NDArrayIndex.point(2), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        attyHeads = atty.reshape(n, h, hs);
        yMerged = y.permute(1, 0, 2);
      }
    }
  }

  private DecodeActs decodeActs;

  private DecodeActs decodeActs(int n) {
    if (decodeActs == null || decodeActs.n != n) {
      if (decodeActs != null) {
        decodeActs.replay.close();
      }
      columns.clear();
      vectors.clear();
      decodeActs = new DecodeActs(n);
    }
    return decodeActs;
  }

  /**
   * Runs {@code ids} at positions [cache.length, cache.length + n) attending to the cached ones,
   * appends their keys and values to the cache and returns the logits [n, V]: the engine's own
   * array, overwritten by the next call.
   */
  public INDArray decode(KvCache cache, int[] ids) {
    int n = ids.length, h = cfg.nHead(), p0 = cache.length, p1 = p0 + n;
    if (n == 0) {
      throw new IllegalArgumentException("no tokens");
    }
    if (p1 > cfg.blockSize()) {
      throw new IllegalArgumentException(
          "context of " + p1 + " tokens exceeds the block size " + cfg.blockSize());
    }
    for (int id : ids) {
      if (id < 0 || id >= cfg.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + id + " is outside the vocabulary of " + cfg.vocabSize());
      }
    }
    INDArray mask = null;
    if (n > 1) {
      double[] m = new double[n * p1];
      for (int i = 0; i < n; i++) {
        Arrays.fill(m, i * p1 + p0 + i + 1, (i + 1) * p1, -1e9);
      }
      mask = Nd4j.create(m, new long[] {n, p1}, 'c').castTo(dt);
    }
    DecodeActs b = decodeActs(n);
    replay = b.replay;
    replay.rewind();
    try {
      long t0 = clock();
      for (int i = 0; i < n; i++) {
        b.ids.putScalar(i, ids[i]);
        b.positions.putScalar(i, p0 + i);
      }
      INDArray x = b.x;
      custom("gather", in(w.wte, b.ids), out(x), NO_T, 0);
      custom("gather", in(w.wpe, b.positions), out(b.posRows), NO_T, 0);
      custom("add", in(x, b.posRows), out(x), NO_T);
      lap(Kernel.EMBEDDING, t0);
      if (n == 1) {
        cache.mask.putScalar(0, p0, 0.0);
        cache.slotsAt(p0);
      } else {
        cache.mask.get(NDArrayIndex.all(), NDArrayIndex.interval(p0, p1)).assign(0);
      }
      INDArray att = n == 1 ? b.attAll : Nd4j.create(dt, h, n, p1);
      for (int l = 0; l < cfg.nLayer(); l++) {
        Layer p = w.layers[l];
        layerNormForward(x, p.ln1w, p.ln1b, null, b.var, b.ln);
        linearForward(b.ln, p.attnW, p.attnB, b.qkv);
        t0 = clock();
        if (n == 1) {
          custom("scatter_upd", in(cache.kRows[l], cache.slots, b.kNew), out(cache.kRows[l]), NO_T);
          custom("scatter_upd", in(cache.vRows[l], cache.slots, b.vNew), out(cache.vRows[l]), NO_T);
          lap(Kernel.RESIDUAL_BIAS, t0);
          causalAttention(b.q, cache.k[l], cache.v[l], cache.mask, att, null, null, b.y);
        } else {
          b.q.assign(b.qSrc);
          cache
              .k[l]
              .get(NDArrayIndex.all(), NDArrayIndex.interval(p0, p1), NDArrayIndex.all())
              .assign(b.kSrc);
          cache
              .v[l]
              .get(NDArrayIndex.all(), NDArrayIndex.interval(p0, p1), NDArrayIndex.all())
              .assign(b.vSrc);
          INDArray k =
              cache.k[l].get(NDArrayIndex.all(), NDArrayIndex.interval(0, p1), NDArrayIndex.all());
          INDArray v =
              cache.v[l].get(NDArrayIndex.all(), NDArrayIndex.interval(0, p1), NDArrayIndex.all());
          causalAttention(b.q, k, v, mask, att, null, null, b.y);
          b.attyHeads.assign(b.yMerged);
        }
        linearForward(b.atty, p.projW, p.projB, b.branch);
        t0 = clock();
        custom("add", in(x, b.branch), out(x), NO_T);
        lap(Kernel.RESIDUAL_BIAS, t0);
        layerNormForward(x, p.ln2w, p.ln2b, null, b.var, b.ln);
        linearForward(b.ln, p.fcW, p.fcB, b.fc);
        geluForward(b.fc, b.fcSig, b.fcGelu);
        linearForward(b.fcGelu, p.fcProjW, p.fcProjB, b.branch);
        t0 = clock();
        custom("add", in(x, b.branch), out(x), NO_T);
        lap(Kernel.RESIDUAL_BIAS, t0);
      }
      layerNormForward(x, w.lnfw, w.lnfb, null, b.var, b.ln);
      t0 = clock();
      if (n == 1) {
        // head [V, d] times the row as a vector: libnd4j's matrix-vector product (GEMV), where the
        // GEMM of a
        // single row against the transposed head took several times as long
        custom("matmul", in(w.head, b.lnVec), out(b.logitsVec), NO_T);
      } else {
        Nd4j.gemm(b.ln, w.head, b.logits, false, true, 1.0, 0.0);
      }
      lap(Kernel.MATMUL, t0);
    } finally {
      replay = null;
    }
    cache.length = p1;
    return b.logits;
  }

  // ------------------------------------------------------------------------------------------------------------
  // libnd4j custom ops by name; while decoding, replayed

  private static final double[] NO_T = {};

  /**
   * The replay of the decode pass in progress (null otherwise: training builds every op afresh).
   */
  private Replay replay;

  private static INDArray[] in(INDArray... a) {
    return a;
  }

  private static INDArray[] out(INDArray... a) {
    return a;
  }

  /**
   * Runs libnd4j's custom op {@code name} with these arrays and arguments (while decoding, through
   * {@link #replay}).
   */
  private void custom(String name, INDArray[] in, INDArray[] out, double[] t, long... i) {
    if (replay != null) {
      replay.exec(name, in, out, t, i);
    } else {
      Nd4j.exec(build(name, in, out, t, i));
    }
  }

  private static DynamicCustomOp build(
      String name, INDArray[] in, INDArray[] out, double[] t, long[] i) {
    // the builder checks the argument counts per call: all at once
    return DynamicCustomOp.builder(name)
        .addInputs(in)
        .addOutputs(out)
        .addFloatingPointArguments(Arrays.stream(t).boxed().toArray(Double[]::new))
        .addIntegerArguments(Arrays.stream(i).mapToInt(Math::toIntExact).toArray())
        .build();
  }

  /**
   * The custom ops of one decode pass in call order, each built once with its own {@link
   * OpContext}: a call whose op, arrays (the same objects) and arguments are those of the same call
   * in the previous pass reruns the stored op, which skips building the op object and its context
   * (about half of a small op's cost here); any other call is rebuilt in its place. So the kernels
   * run unchanged every token and a pass over fixed buffers (one token at a time) rebuilds nothing.
   */
  private static final class Replay {
    private final List<Call> calls = new ArrayList<>();
    private int next;

    private record Call(
        String name,
        INDArray[] in,
        INDArray[] out,
        double[] t,
        long[] i,
        DynamicCustomOp op,
        OpContext ctx) {
      boolean matches(String name, INDArray[] in, INDArray[] out, double[] t, long[] i) {
        return this.name.equals(name)
            && same(this.in, in)
            && same(this.out, out)
            && Arrays.equals(this.t, t)
            && Arrays.equals(this.i, i);
      }

      private static boolean same(INDArray[] a, INDArray[] b) {
        if (a.length != b.length) {
          return false;
        }
        for (int j = 0; j < a.length; j++) {
          if (a[j] != b[j]) {
            return false;
          }
        }
        return true;
      }
    }

    void rewind() {
      next = 0;
    }

    void exec(String name, INDArray[] in, INDArray[] out, double[] t, long[] i) {
      Call c = next < calls.size() ? calls.get(next) : null;
      if (c == null || !c.matches(name, in, out, t, i)) {
        if (c != null) {
          close(c.ctx);
        }
        DynamicCustomOp op = build(name, in, out, t, i);
        OpContext ctx = Nd4j.getExecutioner().buildContext();
        ctx.setInputArrays(in);
        ctx.setOutputArrays(out);
        ctx.setTArguments(t);
        ctx.setIArguments(i);
        ctx.markInplace(in[0] == out[0]);
        c = new Call(name, in.clone(), out.clone(), t.clone(), i.clone(), op, ctx);
        if (next < calls.size()) {
          calls.set(next, c);
        } else {
          calls.add(c);
        }
      }
      next++;
      Nd4j.getExecutioner().exec(c.op, c.ctx);
    }

    void close() {
      for (Call c : calls) {
        close(c.ctx);
      }
      calls.clear();
    }

    /** Frees a context's native side now rather than at garbage collection. */
    private static void close(OpContext ctx) {
      try {
        ctx.close();
      } catch (Exception e) {
        throw new IllegalStateException("closing an op context", e);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Profiling

  /**
   * Turns the per-kernel timers on or off (off by default; each lap costs a System.nanoTime call).
   */
  public void profile(boolean on) {
    profile = on;
  }

  /**
   * Milliseconds per kernel group since the last {@link #resetProfile}, the optimiser's included
   * when timed.
   */
  public Map<Kernel, Double> profileMillis() {
    Map<Kernel, Double> m = new LinkedHashMap<>();
    for (Kernel k : Kernel.values()) {
      m.put(k, nanos[k.ordinal()] / 1e6);
    }
    return m;
  }

  public void resetProfile() {
    java.util.Arrays.fill(nanos, 0);
  }

  /** Adds time measured outside the engine (the optimiser step) to a group. */
  public void addProfile(Kernel k, long nanoseconds) {
    if (profile) {
      nanos[k.ordinal()] += nanoseconds;
    }
  }

  public boolean profiling() {
    return profile;
  }

  private long clock() {
    return profile ? System.nanoTime() : 0;
  }

  private long lap(Kernel k, long since) {
    if (!profile) {
      return 0;
    }
    long now = System.nanoTime();
    nanos[k.ordinal()] += now - since;
    return now;
  }
}
