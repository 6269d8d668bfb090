package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * safetensors reading/writing and validation, checkpoint round trips, and generation from a
 * checkpoint.
 */
class CheckpointTest {
  @TempDir Path tmp;

  @Test
  void safetensorsRoundTripAndLayout() throws IOException {
    Map<String, INDArray> t = new LinkedHashMap<>();
    t.put("b", Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, 'c'));
    t.put("a", Nd4j.create(new double[] {-1.5, 2.25}, new long[] {2}, 'c'));
    t.put("i", Nd4j.createFromArray(new int[] {7, -8, 9}));
    Path f = tmp.resolve("x.safetensors");
    Safetensors.write(f, t, Map.of("format", "pt"));
    byte[] raw = Files.readAllBytes(f);
    long n = ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, (8 + n) % 8, "header padded to 8 bytes");
    String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
    assertTrue(
        header.contains("\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}"), header);
    assertTrue(
        header.contains("\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]}"),
        header);
    assertTrue(header.contains("\"__metadata__\":{\"format\":\"pt\"}"), header);
    // row-major little-endian: b[0][1] = 2.0f right after a's 16 bytes and b[0][0]
    assertEquals(
        2.0f,
        ByteBuffer.wrap(raw, (int) (8 + n + 16 + 4), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
    Map<String, Safetensors.Tensor> back = Safetensors.read(f);
    assertEquals(t.get("b"), back.get("b").array());
    assertEquals(t.get("a"), back.get("a").array());
    assertArrayEquals(new int[] {7, -8, 9}, back.get("i").array().toIntVector());
    assertEquals("pt", Safetensors.readHeader(f).metadata().get("format"));
  }

  @Test
  void safetensorsRejectsDamagedFiles() throws IOException {
    Path f = tmp.resolve("x.safetensors");
    Safetensors.write(
        f, Map.of("w", Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 4)), Map.of());
    byte[] good = Files.readAllBytes(f);

    Files.write(f, Arrays.copyOf(good, good.length - 3));
    assertMessage(f, "truncated");
    Files.write(f, Arrays.copyOf(good, 20));
    assertMessage(f, "truncated");
    Files.write(f, Arrays.copyOf(good, 5));
    assertMessage(f, "too short");
    byte[] extra = Arrays.copyOf(good, good.length + 4);
    Files.write(f, extra);
    assertMessage(f, "trailing");
    byte[] bad = good.clone();
    ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
    Files.write(f, bad);
    assertMessage(f, "header length");
    String h =
        new String(
            good,
            8,
            (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(0),
            StandardCharsets.UTF_8);
    writeWithHeader(f, h.replace("[4,4]", "[4,5]"), 64);
    assertMessage(f, "needs 80 bytes");
    writeWithHeader(f, h.replace("F32", "Q7"), 64);
    assertMessage(f, "unknown dtype");
    writeWithHeader(
        f,
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        12);
    assertMessage(f, "overlaps");
    writeWithHeader(f, "not json at all", 0);
    assertMessage(f, "not valid JSON");
  }

  private static void writeWithHeader(Path f, String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Files.write(f, b.array());
  }

  private static void assertMessage(Path f, String part) {
    IOException e = assertThrows(IOException.class, () -> Safetensors.read(f));
    assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
  }

  @Test
  void saveLoadGivesIdenticalLogitsAndState() throws IOException {
    GptConfig cfg = TestData.micro(257, 16, "float32");
    Map<String, INDArray> params = GptModel.initParams(cfg, 3);
    AdamW.State opt = AdamW.State.zeros(params);
    StepRunner runner =
        new StepRunner(cfg, 16, AdamW.Hyper.defaults(), LrSchedule.constant(1e-3), 1.0);
    Batch batch = Batch.of(TestData.randomTokens(2, 16, cfg.vocabSize(), 1));
    runner.step(params, opt, List.of(batch), 0);
    Path tokFile = tmp.resolve("tokenizer.json");
    Tokenizers.saveJson(TestData.byteTokenizer(), tokFile);
    Checkpoint.TrainingState ts =
        new Checkpoint.TrainingState(1, 1e-3, 2, 32, 0, 3, 4, 5.5, Map.of("a", 1));
    Path dir = tmp.resolve("run/checkpoint");
    Checkpoint.save(dir, cfg, params, opt, ts, tokFile);
    Checkpoint.save(
        dir, cfg, params, opt, ts, tokFile); // replaces atomically, leaves no temporaries
    try (var s = Files.list(dir.getParent())) {
      assertEquals(List.of("checkpoint"), s.map(p -> p.getFileName().toString()).toList());
    }
    for (String f :
        List.of(
            "config.json",
            "model.safetensors",
            "optimizer.safetensors",
            "training_state.json",
            "tokenizer.json")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    String cj = Files.readString(dir.resolve("config.json"));
    assertTrue(
        cj.contains("\"model_type\" : \"gpt2\"")
            && cj.contains("\"n_embd\" : 16")
            && cj.contains("gelu_new"),
        cj);

    Checkpoint c = Checkpoint.load(dir);
    assertEquals(cfg, c.config());
    assertEquals(ts, c.trainingState());
    assertEquals(1, c.optimizer().step);
    for (String k : params.keySet()) {
      assertEquals(params.get(k), c.params().get(k), k);
      assertEquals(opt.m.get(k), c.optimizer().m.get(k), k);
      assertEquals(opt.v.get(k), c.optimizer().v.get(k), k);
    }
    Gpt a = new Gpt(cfg, 16);
    a.load(params);
    Gpt b = new Gpt(cfg, 16);
    b.load(c.params());
    assertEquals(a.logits(batch), b.logits(batch));
    try (Tokenizer tok = c.tokenizer()) {
      assertEquals(257, tok.vocabSize());
      assertEquals("hi", tok.decode(tok.encode("hi")));
    }
  }

  @Test
  void loadFailsClearlyOnTruncatedOrMismatchedFiles() throws IOException {
    GptConfig cfg = TestData.micro(20, 8, "float32");
    Path dir = tmp.resolve("ck");
    Checkpoint.save(dir, cfg, GptModel.initParams(cfg, 1), null, null, null);
    Path model = dir.resolve(Checkpoint.MODEL);
    byte[] good = Files.readAllBytes(model);
    try (RandomAccessFile f = new RandomAccessFile(model.toFile(), "rw")) {
      f.setLength(good.length - 100);
    }
    IOException e = assertThrows(IOException.class, () -> Checkpoint.load(dir));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    Files.write(model, good);

    // a config that does not match the weights: wrong vocabulary, then missing layers
    String cj = Files.readString(dir.resolve(Checkpoint.CONFIG));
    Files.writeString(
        dir.resolve(Checkpoint.CONFIG), cj.replace("\"vocab_size\" : 20", "\"vocab_size\" : 21"));
    e = assertThrows(IOException.class, () -> Checkpoint.load(dir));
    assertTrue(
        e.getMessage().contains("transformer.wte.weight") && e.getMessage().contains("[20, 16]"),
        e.getMessage());
    Files.writeString(
        dir.resolve(Checkpoint.CONFIG), cj.replace("\"n_layer\" : 2", "\"n_layer\" : 1"));
    e = assertThrows(IOException.class, () -> Checkpoint.load(dir));
    assertTrue(
        e.getMessage().contains("unexpected tensors")
            && e.getMessage().contains("transformer.h.1."),
        e.getMessage());
    Files.writeString(
        dir.resolve(Checkpoint.CONFIG),
        cj.replace("\"dtype\" : \"float32\"", "\"dtype\" : \"float64\""));
    e = assertThrows(IOException.class, () -> Checkpoint.load(dir));
    assertTrue(e.getMessage().contains("is F32, the config says F64"), e.getMessage());
    Files.writeString(dir.resolve(Checkpoint.CONFIG), cj);
    assertNotNull(Checkpoint.load(dir));
    assertFalse(Files.exists(dir.resolve(Checkpoint.OPTIMIZER)));
    e = assertThrows(IOException.class, () -> Checkpoint.load(tmp.resolve("nothing")));
    assertTrue(e.getMessage().contains("no such checkpoint"), e.getMessage());
  }

  @Test
  void generationIsGreedyOrSeededAndStopsAtEndOfText() throws IOException {
    GptConfig cfg = TestData.micro(257, 32, "float32");
    Map<String, INDArray> params = GptModel.initParams(cfg, 9);
    Path tokFile = tmp.resolve("tokenizer.json");
    Tokenizers.saveJson(TestData.byteTokenizer(), tokFile);
    Path dir = tmp.resolve("gen");
    Checkpoint.save(dir, cfg, params, null, null, tokFile);
    Checkpoint c = Checkpoint.load(dir, false);

    Generator.Result g1 = Generator.generate(c, "abc", Generator.Sampling.greedy(40));
    Generator.Result g2 =
        Generator.generate(c, "abc", new Generator.Sampling(40, 0, 0, 1, 0, false));
    assertArrayEquals(g1.ids(), g2.ids(), "greedy with and without the cache");
    assertEquals(
        40, g1.ids().length); // crosses the block size of 32: the context is cropped and re-encoded
    Generator.Sampling s = new Generator.Sampling(30, 0.9, 20, 0.9, 123, true);
    assertArrayEquals(
        Generator.generate(c, "abc", s).ids(),
        Generator.generate(c, "abc", s).ids(),
        "same seed, same text");

    // make end-of-text (256) the certain next token: its logit becomes ln(x).1 + 1.1 = 0 + 16, the
    // others stay small
    params.get(GptModel.WTE).getRow(256).assign(1.0);
    params.get(GptModel.LN_F_B).assign(1.0);
    Generator.Result stop =
        Generator.generate(cfg, params, c.tokenizer(), "abc", Generator.Sampling.greedy(10), null);
    assertEquals("eot", stop.stopReason());
    assertEquals(0, stop.ids().length);
  }
}
