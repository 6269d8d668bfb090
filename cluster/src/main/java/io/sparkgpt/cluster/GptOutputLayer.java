package io.sparkgpt.cluster;

import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptGraph;
import io.sparkgpt.model.GptModel;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * The whole GPT as one deeplearning4j layer, for {@code pretrain --engine dl4j-spark}: the graph is built by
 * {@link GptGraph}, exactly as {@link GptModel}'s, from this layer's parameters.
 *
 * <ul>
 *   <li><b>Input</b>: token ids {@code [B, T]} as floats (a DataSet's features), cast to int inside. <b>Labels</b>:
 *       the next tokens {@code [B, T]}, also floats.</li>
 *   <li><b>Embedding</b>: one-hot times {@code wte} inside the graph (GptModel gathers rows outside its graph,
 *       which a DL4J layer cannot do); the product is exact, since every row has a single 1.</li>
 *   <li><b>Loss</b>: the per-sequence mean cross-entropy summed over the batch: DL4J divides both the score and the
 *       gradients by the minibatch size, which makes them GptModel's mean over all tokens.</li>
 *   <li><b>Parameter names</b>: DL4J keys gradients {@code layer_param} and splits at the last {@code _} (a name
 *       with {@code _} fails in the updater with an NPE), so the HF names are camel-cased: {@link #dl4jName}.
 *       Matrices with weight decay are DL4J weight parameters, everything else bias parameters, so the network's
 *       weight decay applies to exactly the matrices AdamW decays.</li>
 *   <li><b>Activations</b> (what {@code output()} returns): the logits {@code [B*T, V]}.</li>
 * </ul>
 * No dropout (the layer cannot tell training from inference passes through extra placeholders) and float32 only.
 * The fields are what DL4J serialises to ship the network configuration to the workers.
 */
public final class GptOutputLayer extends SameDiffOutputLayer {
  static final String LOGITS = "logits";
  private static final long serialVersionUID = 1L;

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

  /** For DL4J's JSON deserialisation. */
  private GptOutputLayer() {
  }

  /**
   * @param seqLen tokens per sequence (the graph's T, at most the block size)
   * @param seed   initialisation seed: {@link GptModel#initParams} with it
   */
  public GptOutputLayer(GptConfig cfg, int seqLen, long seed) {
    if (cfg.dropout() > 0 || !"float32".equals(cfg.dtype())) {
      throw new IllegalArgumentException("the dl4j-spark engine trains float32 models without dropout, not " + cfg);
    }
    if (seqLen < 1 || seqLen > cfg.blockSize()) {
      throw new IllegalArgumentException("sequence length " + seqLen + " must be in [1, block_size " + cfg.blockSize() + "]");
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
    dl4jNames(cfg);   // fail here, not in a worker, if two names collide
  }

  public GptConfig config() {
    return new GptConfig(vocabSize, blockSize, dModel, nLayer, nHead, mlpRatio, 0.0, bias, tied, "float32");
  }

  /**
   * An HF name without {@code transformer.}, camel-cased at each {@code .} and {@code _}:
   * {@code transformer.h.0.ln_1.weight} becomes {@code h0Ln1Weight}, {@code lm_head.weight} {@code lmHeadWeight}.
   */
  public static String dl4jName(String hfName) {
    String[] parts = hfName.replaceFirst("^transformer\\.", "").split("[._]");
    StringBuilder b = new StringBuilder(parts[0]);
    for (int i = 1; i < parts.length; i++) {
      b.append(Character.toUpperCase(parts[i].charAt(0))).append(parts[i], 1, parts[i].length());
    }
    return b.toString();
  }

  /** HF name to DL4J name for every parameter of {@code cfg}, in {@link GptModel#paramSpecs} order. */
  public static Map<String, String> dl4jNames(GptConfig cfg) {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, String> back = new HashMap<>();
    for (GptModel.ParamSpec s : GptModel.paramSpecs(cfg)) {
      String d = dl4jName(s.name());
      String clash = back.put(d, s.name());
      if (clash != null) {
        throw new IllegalStateException(s.name() + " and " + clash + " both map to the DL4J name " + d);
      }
      out.put(s.name(), d);
    }
    return out;
  }

  @Override
  public void defineParameters(SDLayerParams params) {
    for (GptModel.ParamSpec s : GptModel.paramSpecs(config())) {
      if (s.decay()) {
        params.addWeightParam(dl4jName(s.name()), s.shape());
      } else {
        params.addBiasParam(dl4jName(s.name()), s.shape());
      }
    }
  }

  @Override
  public void initializeParameters(Map<String, INDArray> params) {
    GptModel.initParams(config(), seed).forEach((name, a) -> params.get(dl4jName(name)).assign(a));
  }

  @Override
  public SDVariable defineLayer(SameDiff sd, SDVariable input, SDVariable labels, Map<String, SDVariable> paramTable) {
    GptConfig cfg = config();
    Map<String, SDVariable> p = new HashMap<>();
    dl4jNames(cfg).forEach((hf, d) -> p.put(hf, paramTable.get(d)));
    SDVariable ids = sd.reshape(input, -1).castTo(DataType.INT);                            // [B*T]
    SDVariable tokEmb = sd.mmul(sd.oneHot(ids, vocabSize, -1, 1.0, 0.0, DataType.FLOAT), p.get(GptModel.WTE));
    GptGraph graph = new GptGraph(sd, cfg, seqLen);
    SDVariable logits = graph.logits(p, tokEmb, GptGraph.Dropout.NONE).rename(LOGITS);
    SDVariable targetsFloat = sd.reshape(labels, -1);
    SDVariable weights = sd.onesLike(targetsFloat).mul(1.0 / seqLen);
    SDVariable loss = graph.loss("ce", logits, targetsFloat.castTo(DataType.INT), weights);
    // The input reaches the loss only through the int cast, which has no gradient, but DL4J reads the input's
    // gradient after every backward pass (an NPE when there is none): a zero term gives it one. The loss op made
    // itself the graph's loss variable; the sum must be instead, or the zero term is not differentiated.
    SDVariable total = loss.add(input.sum().mul(0.0));
    sd.setLossVariables(total);
    return total;
  }

  @Override
  public String activationsVertexName() {
    return LOGITS;
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    return InputType.feedForward(vocabSize);
  }
}
