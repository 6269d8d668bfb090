package io.sparkgpt.cluster;

import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which device a Spark task computes on. With GPU scheduling on ({@code
 * spark.executor.resource.gpu.amount}, {@code spark.task.resource.gpu.amount}, and a discovery
 * script such as {@code cluster/scripts/discover-gpus.sh} on the workers), Spark hands each task
 * the addresses of its GPUs; on a CUDA build of ND4J ({@code -Pcuda}) the task's thread is bound to
 * the first of them, so two tasks of one executor never share a GPU. The addresses are CUDA device
 * ordinals as {@code nvidia-smi} numbers them: do not also restrict executors with {@code
 * CUDA_VISIBLE_DEVICES}, which renumbers the devices. On the CPU build a GPU assignment is reported
 * and otherwise ignored.
 */
public final class Devices {
  private Devices() {}

  /**
   * Binds the calling task to its assigned GPU, if any; returns where it runs, e.g. "executor 1 gpu
   * 0".
   */
  public static String bindTask() {
    TaskContext tc = TaskContext.get();
    String executor = SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
    String gpu = null;
    if (tc != null) {
      Map<String, ResourceInformation> res = tc.resourcesJMap();
      ResourceInformation info = res.get("gpu");
      if (info != null && info.addresses().length > 0) {
        gpu = info.addresses()[0];
      }
    }
    boolean cpuBackend = Nd4j.getEnvironment().isCPU();
    if (gpu != null && !cpuBackend) {
      try {
        Nd4j.getAffinityManager().unsafeSetDevice(Integer.parseInt(gpu));
      } catch (NumberFormatException e) {
        throw new IllegalStateException(
            "GPU address '"
                + gpu
                + "' from Spark's discovery script is not a CUDA "
                + "device number",
            e);
      }
    }
    return "executor "
        + executor
        + (gpu == null
            ? " cpu"
            : cpuBackend ? " gpu " + gpu + " (CPU build: unused)" : " gpu " + gpu);
  }
}
