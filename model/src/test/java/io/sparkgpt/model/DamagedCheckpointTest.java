package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Issue 11, case 8: a damaged checkpoint is one line naming the file (and the line), never a raw
 * exception.
 */
class DamagedCheckpointTest {
  @TempDir Path tmp;

  static final GptConfig MICRO = new GptConfig(64, 8, 8, 1, 2, 4, 0.0, true, true, "float32");

  static Path save(Path dir) throws IOException {
    Map<String, INDArray> params = GptModel.initParams(MICRO, 1);
    Checkpoint.TrainingState ts =
        new Checkpoint.TrainingState(3, 1e-3, 6, 48, 0, 1, 1, null, Map.of());
    Checkpoint.save(dir, MICRO, params, AdamW.State.zeros(params), ts, null);
    return dir;
  }

  private static String oneLine(IOException e) {
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    return e.getMessage();
  }

  @Test
  void safetensorsShapeOverflowIsAnIoErrorNamingTheFile() throws IOException {
    Path f = tmp.resolve("x.safetensors");
    String header =
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    Files.write(
        f,
        ByteBuffer.allocate(8 + h.length + 16)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putLong(h.length)
            .put(h)
            .array());
    String msg = oneLine(assertThrows(IOException.class, () -> Safetensors.read(f)));
    assertTrue(
        msg.contains(
            f
                + ": tensor 'w': shape [4294967296,4294967296] of F32 has more bytes than a file can hold"),
        msg);
    // the element count fits a long, its bytes do not
    String header2 =
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,16]}}";
    byte[] h2 = header2.getBytes(StandardCharsets.UTF_8);
    Files.write(
        f,
        ByteBuffer.allocate(8 + h2.length + 16)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putLong(h2.length)
            .put(h2)
            .array());
    assertTrue(
        oneLine(assertThrows(IOException.class, () -> Safetensors.read(f)))
            .contains("has more bytes than a file can hold"));
  }

  @Test
  void corruptTrainingStateNamesTheFileAndLine() throws IOException {
    Path dir = save(tmp.resolve("checkpoint"));
    Path ts = dir.resolve(Checkpoint.TRAINING_STATE);
    Files.writeString(ts, "{\n  \"step\" : 3,\n  \"lr\" : \"fast\"\n}");
    String msg = oneLine(assertThrows(IOException.class, () -> Checkpoint.load(dir)));
    assertTrue(msg.startsWith(ts + ": invalid training state at line 3, column "), msg);
    Files.writeString(ts, "{\n  \"step\" : 3,\n  \"lr\" : 0.1");
    msg = oneLine(assertThrows(IOException.class, () -> Checkpoint.load(dir)));
    assertTrue(msg.startsWith(ts + ": invalid training state at line 3"), msg);
  }
}
