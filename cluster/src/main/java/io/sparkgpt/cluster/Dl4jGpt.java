package io.sparkgpt.cluster;

import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.LrSchedule;
import io.sparkgpt.model.TrainConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * The GPT as a deeplearning4j {@link MultiLayerNetwork} (one {@link GptOutputLayer}) trained like
 * the {@code averaging} engine trains it, and the mapping between the network and the checkpoint
 * format.
 *
 * <p><b>Optimiser</b>: DL4J's Adam with the run's betas and epsilon, the learning rate from {@link
 * LrSchedule} (warm-up then cosine; DL4J's iteration count is our 0-based step), decoupled weight
 * decay on the matrices ({@link DecoupledWeightDecay}), and clipping of the global gradient norm
 * ({@code ClipL2PerLayer}: the whole model is one layer). Two differences from {@link AdamW}, both
 * negligible in practice:
 *
 * <ul>
 *   <li>DL4J's Adam computes {@code lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)}; PyTorch's
 *       AdamW divides by {@code sqrt(v)/sqrt(1-b2^t) + eps}, i.e. its epsilon is larger by {@code
 *       1/sqrt(1-b2^t)}.
 *   <li>Clipping scales by {@code max/norm} where PyTorch uses {@code max/(norm + 1e-6)}.
 * </ul>
 *
 * The moments are the same quantities in both, so checkpoints carry them across engines.
 */
public final class Dl4jGpt {
  private Dl4jGpt() {}

  /**
   * A network initialised as {@link GptModel#initParams} with the run's seed, its updater state
   * allocated.
   */
  public static MultiLayerNetwork network(TrainConfig tc, int seqLen) {
    LrSchedule s = tc.schedule();
    Adam adam =
        Adam.builder()
            .learningRateSchedule(
                new WarmupCosine(s.maxLr(), s.minLr(), s.warmupSteps(), s.decaySteps()))
            .beta1(tc.beta1())
            .beta2(tc.beta2())
            .epsilon(tc.eps())
            .build();
    NeuralNetConfiguration.Builder b =
        new NeuralNetConfiguration.Builder().seed(tc.seed()).dataType(DataType.FLOAT).updater(adam);
    if (tc.gradClip() > 0) {
      b.gradientNormalization(GradientNormalization.ClipL2PerLayer)
          .gradientNormalizationThreshold(tc.gradClip());
    }
    GptOutputLayer layer = new GptOutputLayer(tc.model(), seqLen, tc.seed());
    if (tc.weightDecay() > 0) {
      // on the layer, not the global configuration: DL4J copies a global weight decay into a
      // BaseLayer twice
      layer.setRegularization(
          new ArrayList<>(List.<Regularization>of(new DecoupledWeightDecay(tc.weightDecay()))));
    }
    MultiLayerConfiguration conf = b.list().layer(layer).build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    net.getUpdater(); // DL4J creates the updater (and its state) lazily, at the first fit otherwise
    return net;
  }

  /** Copies of the parameters under their HF names. */
  public static Map<String, INDArray> params(MultiLayerNetwork net, GptConfig cfg) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    GptOutputLayer.dl4jNames(cfg)
        .forEach((hf, d) -> out.put(hf, net.getLayer(0).getParam(d).dup('c')));
    return out;
  }

  public static void setParams(MultiLayerNetwork net, GptConfig cfg, Map<String, INDArray> params) {
    GptModel.checkParams(cfg, params);
    GptOutputLayer.dl4jNames(cfg)
        .forEach((hf, d) -> net.getLayer(0).getParam(d).assign(params.get(hf)));
  }

  /** Adam's moments under the HF names, and the step count (DL4J's iteration count). */
  public static AdamW.State optimizer(MultiLayerNetwork net, GptConfig cfg) {
    Map<String, INDArray> m = new LinkedHashMap<>();
    Map<String, INDArray> v = new LinkedHashMap<>();
    Map<String, INDArray[]> views = moments(net, cfg);
    for (String hf : GptOutputLayer.dl4jNames(cfg).keySet()) {
      m.put(hf, views.get(hf)[0].dup('c'));
      v.put(hf, views.get(hf)[1].dup('c'));
    }
    return new AdamW.State(m, v, net.getIterationCount());
  }

  public static void setOptimizer(MultiLayerNetwork net, GptConfig cfg, AdamW.State state) {
    Map<String, INDArray[]> views = moments(net, cfg);
    for (String hf : GptOutputLayer.dl4jNames(cfg).keySet()) {
      views.get(hf)[0].assign(state.m.get(hf));
      views.get(hf)[1].assign(state.v.get(hf));
    }
    setStep(net, state.step);
  }

  /**
   * Sets the iteration count, which is the step the schedule and Adam's bias correction use next.
   */
  public static void setStep(MultiLayerNetwork net, long step) {
    net.getLayerWiseConfigurations().setIterationCount(Math.toIntExact(step));
  }

  /**
   * Views into the updater state of each parameter, keyed by HF name: {first moment, second
   * moment}, shaped like the parameter. DL4J keeps one state array per block of parameters with
   * equal updater settings: Adam's {@code m} over the block's flattened parameters, then its {@code
   * v}.
   */
  private static Map<String, INDArray[]> moments(MultiLayerNetwork net, GptConfig cfg) {
    Map<String, String> hfOf = new LinkedHashMap<>();
    GptOutputLayer.dl4jNames(cfg).forEach((hf, d) -> hfOf.put(d, hf));
    Map<String, long[]> shapes = new LinkedHashMap<>();
    GptModel.paramSpecs(cfg).forEach(s -> shapes.put(s.name(), s.shape()));
    Map<String, INDArray[]> out = new LinkedHashMap<>();
    for (UpdaterBlock block : ((BaseMultiLayerUpdater<?>) net.getUpdater()).getUpdaterBlocks()) {
      GradientUpdater<?> gu = block.getGradientUpdater();
      if (!(gu instanceof AdamUpdater)) {
        throw new IllegalStateException("expected DL4J's Adam updater, found " + gu);
      }
      Map<String, INDArray> st = gu.getState();
      INDArray m = st.get(AdamUpdater.M_STATE).reshape(-1);
      INDArray v = st.get(AdamUpdater.V_STATE).reshape(-1);
      for (UpdaterBlock.ParamState ps : block.getLayersAndVariablesInBlock()) {
        Trainable layer = ps.getLayer();
        String hf = hfOf.get(ps.getParamName());
        if (hf == null || layer != net.getLayer(0)) {
          throw new IllegalStateException(
              "unexpected parameter " + ps.getParamName() + " in the updater");
        }
        long from = ps.getParamOffsetStart() - block.getParamOffsetStart();
        long to = ps.getParamOffsetEnd() - block.getParamOffsetStart();
        out.put(
            hf,
            new INDArray[] {
              m.get(NDArrayIndex.interval(from, to)).reshape('c', shapes.get(hf)),
              v.get(NDArrayIndex.interval(from, to)).reshape('c', shapes.get(hf))
            });
      }
    }
    if (out.size() != shapes.size()) {
      throw new IllegalStateException(
          "the updater holds " + out.size() + " parameters, the model has " + shapes.size());
    }
    return out;
  }

  /** {@link LrSchedule} as a DL4J schedule over iterations (= our 0-based steps). */
  public static final class WarmupCosine implements ISchedule {
    private static final long serialVersionUID = 1L;
    @JsonProperty private final double maxLr;
    @JsonProperty private final double minLr;
    @JsonProperty private final long warmupSteps;
    @JsonProperty private final long decaySteps;

    public WarmupCosine(
        @JsonProperty("maxLr") double maxLr,
        @JsonProperty("minLr") double minLr,
        @JsonProperty("warmupSteps") long warmupSteps,
        @JsonProperty("decaySteps") long decaySteps) {
      this.maxLr = maxLr;
      this.minLr = minLr;
      this.warmupSteps = warmupSteps;
      this.decaySteps = decaySteps;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
      return new LrSchedule(maxLr, minLr, warmupSteps, decaySteps).lr(iteration);
    }

    @Override
    public ISchedule clone() {
      return new WarmupCosine(maxLr, minLr, warmupSteps, decaySteps);
    }
  }

  /**
   * DL4J's weight decay with the learning rate applied ({@code p -= lr * wd * p} alongside the Adam
   * update: AdamW's decoupled decay), but kept out of the reported score: DL4J's {@code
   * WeightDecay} adds {@code wd/2 * |p|^2} to it, which would make the engines' losses
   * incomparable.
   */
  public static final class DecoupledWeightDecay extends WeightDecay {
    private static final long serialVersionUID = 1L;

    public DecoupledWeightDecay(double coeff) {
      this(new FixedSchedule(coeff));
    }

    public DecoupledWeightDecay(@JsonProperty("coeff") ISchedule coeff) {
      super(coeff, true);
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
      return 0;
    }

    @Override
    public Regularization clone() {
      return new DecoupledWeightDecay(coeff.clone());
    }
  }
}
