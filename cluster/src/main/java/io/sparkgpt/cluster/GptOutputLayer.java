package io.sparkgpt.cluster;

import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * The configuration of the whole GPT as one deeplearning4j output layer, for {@code pretrain
 * --engine dl4j-spark}: what DL4J serialises (as JSON) to ship the network to the workers, and what
 * instantiates {@link GptLayer}, which runs the explicit engine {@link Gpt} over DL4J's parameter
 * and gradient arrays.
 *
 * <ul>
 *   <li><b>Parameters</b>: the layer's flat parameter view is {@link Gpt}'s flat parameter buffer
 *       and its gradient view Gpt's gradient buffer (same order, {@link GptModel#paramSpecs}, and
 *       {@code c}-order shapes), so a step copies nothing between DL4J and the engine.
 *   <li><b>Parameter names</b>: DL4J keys gradients {@code layer_param} and splits at the last
 *       {@code _} (a name with {@code _} fails in the updater with an NPE), so the HF names are
 *       camel-cased: {@link #dl4jName}. Matrices with weight decay are DL4J weight parameters,
 *       everything else bias parameters, so the network's weight decay ({@link
 *       BaseLayer#getRegularizationByParam}) applies to exactly the matrices AdamW decays.
 * </ul>
 *
 * Float32 only, no dropout. The fields are what DL4J serialises; the updater and gradient clipping
 * come from the network's global configuration like any {@link BaseLayer}'s, the weight decay is
 * set on the layer ({@link Dl4jGpt#network}).
 */
public final class GptOutputLayer extends BaseLayer {
  private static final long serialVersionUID = 2L;

  @JsonProperty private int vocabSize;
  @JsonProperty private int blockSize;
  @JsonProperty private int dModel;
  @JsonProperty private int nLayer;
  @JsonProperty private int nHead;
  @JsonProperty private int mlpRatio;
  @JsonProperty private boolean bias;
  @JsonProperty private boolean tied;
  @JsonProperty private int seqLen;
  @JsonProperty private long seed;

  {
    // "not set", as BaseLayer's builder leaves them, so that the network's global configuration
    // fills them in
    // (BaseLayer's own constructor sets no clipping, which the global gradient clipping would not
    // replace)
    gradientNormalization = null;
    gradientNormalizationThreshold = Double.NaN;
    biasInit = Double.NaN;
    gainInit = Double.NaN;
  }

  /** For DL4J's JSON deserialisation. */
  private GptOutputLayer() {}

  /**
   * @param seqLen tokens per sequence (the engine's T, at most the block size)
   * @param seed initialisation seed: {@link GptModel#initParams} with it
   */
  public GptOutputLayer(GptConfig cfg, int seqLen, long seed) {
    if (cfg.dropout() > 0 || !"float32".equals(cfg.dtype())) {
      throw new IllegalArgumentException(
          "the dl4j-spark engine trains float32 models without dropout, not " + cfg);
    }
    if (seqLen < 1 || seqLen > cfg.blockSize()) {
      throw new IllegalArgumentException(
          "sequence length " + seqLen + " must be in [1, block_size " + cfg.blockSize() + "]");
    }
    this.vocabSize = cfg.vocabSize();
    this.blockSize = cfg.blockSize();
    this.dModel = cfg.dModel();
    this.nLayer = cfg.nLayer();
    this.nHead = cfg.nHead();
    this.mlpRatio = cfg.mlpRatio();
    this.bias = cfg.bias();
    this.tied = cfg.tied();
    this.seqLen = seqLen;
    this.seed = seed;
    dl4jNames(cfg); // fail here, not in a worker, if two names collide
  }

  public GptConfig config() {
    return new GptConfig(
        vocabSize, blockSize, dModel, nLayer, nHead, mlpRatio, 0.0, bias, tied, "float32");
  }

  public int seqLen() {
    return seqLen;
  }

  /**
   * An HF name without {@code transformer.}, camel-cased at each {@code .} and {@code _}: {@code
   * transformer.h.0.ln_1.weight} becomes {@code h0Ln1Weight}, {@code lm_head.weight} {@code
   * lmHeadWeight}.
   */
  public static String dl4jName(String hfName) {
    String[] parts = hfName.replaceFirst("^transformer\\.", "").split("[._]");
    StringBuilder b = new StringBuilder(parts[0]);
    for (int i = 1; i < parts.length; i++) {
      b.append(Character.toUpperCase(parts[i].charAt(0))).append(parts[i], 1, parts[i].length());
    }
    return b.toString();
  }

  /**
   * HF name to DL4J name for every parameter of {@code cfg}, in {@link GptModel#paramSpecs} order.
   */
  public static Map<String, String> dl4jNames(GptConfig cfg) {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, String> back = new HashMap<>();
    for (GptModel.ParamSpec s : GptModel.paramSpecs(cfg)) {
      String d = dl4jName(s.name());
      String clash = back.put(d, s.name());
      if (clash != null) {
        throw new IllegalStateException(
            s.name() + " and " + clash + " both map to the DL4J name " + d);
      }
      out.put(s.name(), d);
    }
    return out;
  }

  @Override
  public org.deeplearning4j.nn.api.Layer instantiate(
      NeuralNetConfiguration conf,
      Collection<TrainingListener> listeners,
      int layerIndex,
      INDArray paramsView,
      boolean initializeParams,
      DataType networkDataType) {
    GptLayer layer = new GptLayer(conf, networkDataType);
    layer.setListeners(listeners);
    layer.setIndex(layerIndex);
    layer.setParamsViewArray(paramsView);
    layer.setParamTable(initializer().init(conf, paramsView, initializeParams));
    layer.setConf(conf);
    return layer;
  }

  @Override
  public ParamInitializer initializer() {
    return Params.INSTANCE;
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    return InputType.feedForward(vocabSize);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {}

  @Override
  public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
    return null;
  }

  @Override
  public boolean isPretrainParam(String paramName) {
    return false;
  }

  @Override
  public LayerMemoryReport getMemoryReport(InputType inputType) {
    return new LayerMemoryReport();
  }

  /**
   * The parameters as DL4J sees them: {@link Gpt#views} of the flat array under {@link #dl4jName}s.
   */
  static final class Params implements ParamInitializer {
    static final Params INSTANCE = new Params();

    private static GptOutputLayer gpt(Layer layer) {
      return (GptOutputLayer) layer;
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
      return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
      return Gpt.paramCount(gpt(layer).config());
    }

    @Override
    public List<String> paramKeys(Layer layer) {
      return new ArrayList<>(dl4jNames(gpt(layer).config()).values());
    }

    @Override
    public List<String> weightKeys(Layer layer) {
      return keys(layer, true);
    }

    @Override
    public List<String> biasKeys(Layer layer) {
      return keys(layer, false);
    }

    /** Names of the parameters with ({@code decay}) or without weight decay. */
    private static List<String> keys(Layer layer, boolean decay) {
      List<String> out = new ArrayList<>();
      for (GptModel.ParamSpec s : GptModel.paramSpecs(gpt(layer).config())) {
        if (s.decay() == decay) {
          out.add(dl4jName(s.name()));
        }
      }
      return out;
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
      return weightKeys(layer).contains(key);
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
      return biasKeys(layer).contains(key);
    }

    @Override
    public Map<String, INDArray> init(
        NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
      GptOutputLayer l = gpt(conf.getLayer());
      Map<String, INDArray> views = dl4jViews(l.config(), paramsView);
      if (initializeParams) {
        GptModel.initParams(l.config(), l.seed)
            .forEach((name, a) -> views.get(dl4jName(name)).assign(a));
      }
      return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(
        NeuralNetConfiguration conf, INDArray gradientView) {
      return dl4jViews(gpt(conf.getLayer()).config(), gradientView);
    }

    private static Map<String, INDArray> dl4jViews(GptConfig cfg, INDArray flat) {
      Map<String, INDArray> out = new LinkedHashMap<>();
      Gpt.views(cfg, flat.reshape(flat.length())).forEach((name, a) -> out.put(dl4jName(name), a));
      return out;
    }
  }
}
