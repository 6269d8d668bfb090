package io.sparkgpt.cluster;

import io.sparkgpt.model.AdamW;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Parameters and AdamW state as plain float arrays, one per tensor in a fixed name order: what the
 * driver broadcasts to the workers each round. ND4J arrays are not shipped (they are not reliably
 * serializable across JVMs); each side converts with {@link #of} / {@link #params()} / {@link
 * #optimizer()}.
 */
public final class TrainState implements Serializable {
  private static final long serialVersionUID = 1L;

  public String[] names;
  public long[][] shapes;
  public float[][] params;
  public float[][] m;
  public float[][] v;

  /** AdamW steps taken. */
  public long step;

  public TrainState() {}

  public static TrainState of(Map<String, INDArray> params, AdamW.State opt) {
    TrainState s = new TrainState();
    int n = params.size();
    s.names = new String[n];
    s.shapes = new long[n][];
    s.params = new float[n][];
    s.m = new float[n][];
    s.v = new float[n][];
    int i = 0;
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      s.names[i] = e.getKey();
      s.shapes[i] = e.getValue().shape();
      s.params[i] = floats(e.getValue());
      s.m[i] = floats(opt.m.get(e.getKey()));
      s.v[i] = floats(opt.v.get(e.getKey()));
      i++;
    }
    s.step = opt.step;
    return s;
  }

  /**
   * Parameters only (no optimizer state): what rollout workers need of a policy or a frozen model.
   */
  public static TrainState weights(Map<String, INDArray> params) {
    TrainState s = new TrainState();
    int n = params.size();
    s.names = new String[n];
    s.shapes = new long[n][];
    s.params = new float[n][];
    int i = 0;
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      s.names[i] = e.getKey();
      s.shapes[i] = e.getValue().shape();
      s.params[i] = floats(e.getValue());
      i++;
    }
    return s;
  }

  static float[] floats(INDArray a) {
    if (a.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException(
          "parameter averaging supports float32 parameters, got " + a.dataType());
    }
    return a.dup('c').data().asFloat();
  }

  /** Fresh ND4J copies of the parameters, in name order. */
  public Map<String, INDArray> params() {
    return arrays(params);
  }

  /** Fresh ND4J copies of the moments, with the step count. */
  public AdamW.State optimizer() {
    return new AdamW.State(arrays(m), arrays(v), step);
  }

  private Map<String, INDArray> arrays(float[][] data) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (int i = 0; i < names.length; i++) {
      out.put(names[i], Nd4j.create(data[i].clone(), shapes[i], 'c'));
    }
    return out;
  }
}
