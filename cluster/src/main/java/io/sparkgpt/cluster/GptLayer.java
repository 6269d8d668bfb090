package io.sparkgpt.cluster;

import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.Objective;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.AbstractLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The GPT as a deeplearning4j output layer ({@link GptOutputLayer} is its configuration): forward,
 * backward and loss are {@link Gpt}'s explicit passes, run over the layer's own parameter and
 * gradient views.
 *
 * <ul>
 *   <li><b>Input</b>: token ids {@code [B, T]} as floats (a DataSet's features). <b>Labels</b>: the
 *       next tokens {@code [B, T]}, also floats, which must be the inputs shifted by one (the
 *       engine reads a batch as samples of {@code T + 1} tokens).
 *   <li><b>Loss</b>: the per-sequence mean cross-entropy summed over the batch ({@code Gpt}
 *       normalised by T): DL4J divides the gradients (in its updater) and this layer divides the
 *       score by the minibatch size, which makes both the mean over all tokens.
 *   <li><b>One forward pass per step</b>: DL4J asks for the gradients, then for the score of the
 *       same input; the score comes from the forward pass of {@link #backpropGradient} instead of a
 *       second one.
 *   <li><b>Activations</b> ({@code output()}): the logits {@code [B*T, V]}.
 * </ul>
 *
 * The engine keeps its activations outside DL4J's workspaces (allocated once per batch size). The
 * input gradient is not computed (the layer is the whole network).
 */
public final class GptLayer extends AbstractLayer<GptOutputLayer> implements IOutputLayer {
  private INDArray labels;
  private INDArray params;
  private INDArray gradients;
  private Map<String, INDArray> paramTable;
  private Map<String, INDArray> gradientTable;

  /** Built over the current parameter and gradient views on first use. */
  private Gpt gpt;

  /**
   * The input and labels the last backward pass ran on, and its loss; cleared when the score is
   * taken.
   */
  private INDArray lossInput;

  private INDArray lossLabels;
  private double loss;

  GptLayer(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
  }

  private static <T> T outsideWorkspaces(Supplier<T> body) {
    try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      return body.get();
    }
  }

  private Gpt gpt() {
    if (gpt == null) {
      gpt =
          outsideWorkspaces(
              () ->
                  new Gpt(
                      layerConf().config(),
                      layerConf().seqLen(),
                      Objective.lm(),
                      params,
                      gradients));
    }
    return gpt;
  }

  /** The features (and labels, when given) as the engine's batch of {@code T + 1}-token samples. */
  private Batch batch(INDArray features, INDArray next) {
    int t = layerConf().seqLen();
    if (features.rank() != 2 || features.size(1) != t) {
      throw new IllegalArgumentException(
          "expected token ids [B, " + t + "], got " + Arrays.toString(features.shape()));
    }
    int[][] in = features.toIntMatrix();
    int[][] out = next == null ? null : next.toIntMatrix();
    int[][] tokens = new int[in.length][t + 1];
    for (int b = 0; b < in.length; b++) {
      System.arraycopy(in[b], 0, tokens[b], 0, t);
      if (out != null) {
        for (int i = 0; i + 1 < t; i++) {
          if (out[b][i] != in[b][i + 1]) {
            throw new IllegalArgumentException(
                "labels must be the inputs shifted by one token (sample "
                    + b
                    + ", position "
                    + i
                    + ")");
          }
        }
        tokens[b][t] = out[b][t - 1];
      }
    }
    return Batch.of(tokens);
  }

  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(false);
    INDArray logits = outsideWorkspaces(() -> gpt().logits(batch(input, null)));
    return workspaceMgr.dup(
        ArrayType.ACTIVATIONS, logits.reshape(logits.size(0) * logits.size(1), logits.size(2)));
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(
      INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(true);
    if (labels == null) {
      throw new IllegalStateException("no labels: the GPT layer trains on next-token labels");
    }
    Batch batch = batch(input, labels);
    loss =
        outsideWorkspaces(
            () -> {
              Gpt g = gpt();
              g.zeroGrad();
              return g.forwardBackward(batch, layerConf().seqLen());
            });
    lossInput = input;
    lossLabels = labels;
    Gradient g = new DefaultGradient(gradients);
    gradientTable.forEach((name, view) -> g.gradientForVariable().put(name, view));
    return new Pair<>(g, null);
  }

  @Override
  public double computeScore(
      double fullNetRegTerm, boolean training, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(false);
    double sum;
    if (training && input == lossInput && labels == lossLabels) {
      sum = loss;
    } else {
      Batch batch = batch(input, labels);
      sum = outsideWorkspaces(() -> gpt().loss(batch, layerConf().seqLen()));
    }
    lossInput = lossLabels = null;
    return (sum + fullNetRegTerm) / input.size(0);
  }

  @Override
  public void setInput(INDArray input, LayerWorkspaceMgr workspaceMgr) {
    lossInput = lossLabels = null;
    super.setInput(input, workspaceMgr);
  }

  @Override
  public INDArray computeScoreForExamples(double fullNetRegTerm, LayerWorkspaceMgr workspaceMgr) {
    throw new UnsupportedOperationException(
        "per-example scores are not implemented by the GPT layer");
  }

  @Override
  public boolean needsLabels() {
    return true;
  }

  @Override
  public void setLabels(INDArray labels) {
    this.labels = labels;
  }

  @Override
  public INDArray getLabels() {
    return labels;
  }

  // Parameters: DL4J's views, which are the engine's buffers

  @Override
  public INDArray params() {
    return params;
  }

  @Override
  public long numParams() {
    return params == null ? 0 : params.length();
  }

  @Override
  public INDArray getParam(String param) {
    return paramTable.get(param);
  }

  @Override
  public void setParam(String key, INDArray val) {
    INDArray current = paramTable.get(key);
    if (current == null) {
      throw new IllegalArgumentException("unknown parameter " + key);
    }
    current.assign(val);
  }

  @Override
  public void setParams(INDArray params) {
    if (params != this.params) {
      this.params.assign(params);
    }
  }

  @Override
  public void setParamsViewArray(INDArray params) {
    this.params = params;
    gpt = null;
  }

  @Override
  public INDArray getGradientsViewArray() {
    return gradients;
  }

  @Override
  public void setBackpropGradientsViewArray(INDArray gradients) {
    this.gradients = gradients;
    this.gradientTable = layerConf().initializer().getGradientsFromFlattened(conf(), gradients);
    gpt = null;
  }

  @Override
  public void setParamTable(Map<String, INDArray> paramTable) {
    if (this.paramTable == null) {
      this.paramTable = paramTable;
    } else {
      paramTable.forEach(this::setParam);
    }
  }

  @Override
  public Map<String, INDArray> paramTable() {
    return paramTable;
  }

  @Override
  public Map<String, INDArray> paramTable(boolean backpropParamsOnly) {
    return paramTable;
  }

  // What DL4J's Layer and Classifier interfaces ask for and a language model does not do

  @Override
  public boolean isPretrainLayer() {
    return false;
  }

  @Override
  public void clearNoiseWeightParams() {}

  @Override
  public Layer clone() {
    throw new UnsupportedOperationException("the GPT layer is not cloned");
  }

  @Override
  public double f1Score(DataSet data) {
    throw new UnsupportedOperationException("no F1 score for a language model");
  }

  @Override
  public double f1Score(INDArray examples, INDArray labels) {
    throw new UnsupportedOperationException("no F1 score for a language model");
  }

  @Override
  public int numLabels() {
    return layerConf().config().vocabSize();
  }

  @Override
  public void fit(DataSetIterator iter) {
    throw new UnsupportedOperationException("fit the network, not the layer");
  }

  @Override
  public void fit(DataSet data) {
    throw new UnsupportedOperationException("fit the network, not the layer");
  }

  @Override
  public void fit(INDArray examples, INDArray labels) {
    throw new UnsupportedOperationException("fit the network, not the layer");
  }

  @Override
  public void fit(INDArray examples, int[] labels) {
    throw new UnsupportedOperationException("fit the network, not the layer");
  }

  @Override
  public int[] predict(INDArray examples) {
    throw new UnsupportedOperationException("use output(): the logits");
  }

  @Override
  public List<String> predict(DataSet dataSet) {
    throw new UnsupportedOperationException("use output(): the logits");
  }
}
