package io.sparkgpt.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.PlainFileName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A checkpoint folder (no Java serialization anywhere):
 *
 * <ul>
 *   <li>{@code config.json}: HuggingFace {@code GPT2Config} keys ({@code model_type: gpt2}, {@code
 *       n_embd}, {@code n_layer}, {@code n_head}, {@code n_positions}, {@code vocab_size}, {@code
 *       activation_function: gelu_new}, {@code layer_norm_epsilon}, {@code tie_word_embeddings},
 *       ...) plus the full {@link GptConfig} under {@code "sparkgpt"}, which is what this class
 *       reads back.
 *   <li>{@code model.safetensors}: the parameters under the names of HF {@code GPT2LMHeadModel}'s
 *       state dict, in HF's layouts. GPT-2's linear layers are {@code Conv1D} with weight {@code
 *       [in, out]} and this model computes {@code x @ W} with the same layout, so <b>no tensor is
 *       transposed</b>. (nanoGPT's {@code nn.Linear} weights are the transposes of the four {@code
 *       c_attn}, {@code c_proj}, {@code c_fc} weights.) With tied embeddings {@code lm_head.weight}
 *       is not stored (HF re-ties it on load); with biases off the bias tensors are absent and HF
 *       needs {@code strict=False} (its zero-initialised biases then reproduce the model). Metadata
 *       {@code format: pt} as HF expects.
 *   <li>{@code optimizer.safetensors} (optional): AdamW moments {@code exp_avg.<param>} and {@code
 *       exp_avg_sq.<param>}; metadata {@code step}.
 *   <li>{@code training_state.json} (optional): step, learning rate, seeds, data position and
 *       anything else the trainer wants back.
 *   <li>{@code "sparkgpt_head"} in {@code config.json} (absent for a plain language model): {@code
 *       reward} or {@code value} when {@code model.safetensors} also holds a {@link Head}'s {@code
 *       score.*} or {@code v_head.*} tensors (a reward model; a PPO policy).
 *   <li>the tokenizer, as {@code tokenizer.json} (or {@code tokenizer.model} / {@code
 *       tokenizer.tiktoken}), loadable with {@code Tokenizers.load}.
 * </ul>
 *
 * {@link #save} writes into a temporary sibling folder and renames it into place, so a reader never
 * sees a half written checkpoint; {@link #load} checks names, shapes and dtypes and fails with one
 * clear message.
 */
public record Checkpoint(
    Path dir,
    GptConfig config,
    Map<String, INDArray> params,
    AdamW.State optimizer,
    TrainingState trainingState,
    Head head) {

  public static final String CONFIG = "config.json";
  public static final String MODEL = "model.safetensors";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String TRAINING_STATE = "training_state.json";
  public static final int FORMAT_VERSION = 1;
  static final String HEAD_KEY = "sparkgpt_head";
  static final List<String> TOKENIZER_FILES =
      List.of("tokenizer.json", "tokenizer.model", "tokenizer.tiktoken");

  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * Where a run stands: {@code step} steps taken, {@code lr} the last learning rate used, {@code
   * samplesSeen} the data position (training samples consumed, in the dataset's epoch order),
   * seeds, and the last validation loss.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record TrainingState(
      @JsonProperty("step") long step,
      @JsonProperty("lr") double lr,
      @JsonProperty("samples_seen") long samplesSeen,
      @JsonProperty("tokens_seen") long tokensSeen,
      @JsonProperty("epoch") long epoch,
      @JsonProperty("seed") long seed,
      @JsonProperty("data_seed") long dataSeed,
      @JsonProperty("val_loss") Double valLoss,
      @JsonProperty("train_config") Map<String, Object> trainConfig) {}

  /** The language model's tensors (without the head's): what generation uses. */
  public Map<String, INDArray> backbone() {
    return GptModel.backbone(config, params);
  }

  /** Loads the tokenizer stored in the checkpoint. */
  public Tokenizer tokenizer() throws IOException {
    Path p = tokenizerFile(dir);
    if (p == null) {
      throw new IOException(
          dir + ": the checkpoint has no tokenizer (expected one of " + TOKENIZER_FILES + ")");
    }
    return Tokenizers.load(p.toString());
  }

  /**
   * The tokenizer file inside {@code dir}, or null.
   *
   * @throws IllegalArgumentException (one line) when it is a link to a file outside the checkpoint
   */
  public static Path tokenizerFile(Path dir) {
    for (String f : TOKENIZER_FILES) {
      if (Files.isRegularFile(dir.resolve(f))) {
        try {
          return PlainFileName.resolve(dir, dir + ": tokenizer", f);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return null;
  }

  /**
   * Writes a checkpoint atomically: everything goes to {@code <dir>.tmp-<random>} first, which then
   * replaces {@code dir} by renames (an existing {@code dir} is moved aside and deleted last).
   *
   * @param optimizer null to omit {@code optimizer.safetensors}
   * @param state null to omit {@code training_state.json}
   * @param tokenizerFile a tokenizer file to copy in ({@code .json}, {@code .model} or {@code
   *     .tiktoken}); null for none
   */
  public static void save(
      Path dir,
      GptConfig config,
      Map<String, INDArray> params,
      AdamW.State optimizer,
      TrainingState state,
      Path tokenizerFile)
      throws IOException {
    save(dir, config, Head.NONE, params, optimizer, state, tokenizerFile);
  }

  /** As above for a model with an extra {@link Head} (its tensors are in {@code params}). */
  public static void save(
      Path dir,
      GptConfig config,
      Head head,
      Map<String, INDArray> params,
      AdamW.State optimizer,
      TrainingState state,
      Path tokenizerFile)
      throws IOException {
    GptModel.checkParams(config, head, params);
    Path abs = dir.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62);
    Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp-" + suffix);
    Files.createDirectory(tmp);
    try {
      ObjectNode configJson = configJson(config);
      if (head != Head.NONE) {
        configJson.put(HEAD_KEY, head.id());
      }
      Files.write(tmp.resolve(CONFIG), JSON.writeValueAsBytes(configJson));
      Map<String, INDArray> stored = new LinkedHashMap<>(params);
      Safetensors.write(
          tmp.resolve(MODEL),
          stored,
          Map.of("format", "pt", "sparkgpt_format_version", "" + FORMAT_VERSION));
      if (optimizer != null) {
        Map<String, INDArray> opt = new LinkedHashMap<>();
        optimizer.m.forEach((k, v) -> opt.put("exp_avg." + k, v));
        optimizer.v.forEach((k, v) -> opt.put("exp_avg_sq." + k, v));
        Safetensors.write(
            tmp.resolve(OPTIMIZER),
            opt,
            Map.of("step", Long.toString(optimizer.step), "optimizer", "adamw"));
      }
      if (state != null) {
        Files.write(tmp.resolve(TRAINING_STATE), JSON.writeValueAsBytes(state));
      }
      if (tokenizerFile != null) {
        String name = tokenizerFile.getFileName().toString();
        String target =
            name.endsWith(".model")
                ? "tokenizer.model"
                : name.endsWith(".tiktoken") ? "tokenizer.tiktoken" : "tokenizer.json";
        Files.copy(tokenizerFile, tmp.resolve(target));
      }
      Path old = null;
      if (Files.exists(abs)) {
        old = abs.resolveSibling(abs.getFileName() + ".old-" + suffix);
        move(abs, old);
      }
      move(tmp, abs);
      if (old != null) {
        deleteTree(old);
      }
    } finally {
      if (Files.exists(tmp)) {
        deleteTree(tmp);
      }
    }
  }

  /**
   * Where a run keeps its checkpoints: {@code RUN_DIR/checkpoints/step-NNNNNNN}, and the {@link
   * #LATEST} pointer.
   */
  public static final String STEPS = "checkpoints";

  /**
   * {@code RUN_DIR/checkpoints/latest}: the name of the newest committed step folder, replaced by
   * atomic rename.
   */
  public static final String LATEST = "latest";

  /**
   * {@code RUN_DIR/checkpoint}: a link to the newest step folder, for {@code generate} and
   * fine-tuning.
   */
  public static final String CURRENT = "checkpoint";

  private static final java.util.regex.Pattern STEP_FOLDER =
      java.util.regex.Pattern.compile("step-([0-9]+)");

  /**
   * Called with "step-written" after the new step folder is in place and with "pointer-switched"
   * after {@link #LATEST} names it: lets a test stop a run at those points as a crash would. Null
   * in production.
   */
  static volatile java.util.function.Consumer<String> crashPoint;

  /**
   * Commits a run's checkpoint without a window in which none exists: writes a new {@code
   * RUN_DIR/checkpoints/step-N} (under a temporary name, renamed when complete; no existing
   * checkpoint is moved or replaced), then switches {@code checkpoints/latest} to it by an atomic
   * rename, then swaps the {@code RUN_DIR/checkpoint} link to it, and deletes all but the newest
   * {@code keep} step folders.
   *
   * @return the step folder
   */
  public static Path commit(
      Path runDir,
      GptConfig config,
      Head head,
      Map<String, INDArray> params,
      AdamW.State optimizer,
      TrainingState state,
      Path tokenizerFile,
      int keep)
      throws IOException {
    Path steps = runDir.resolve(STEPS);
    String name = String.format(java.util.Locale.ROOT, "step-%07d", state.step());
    Path folder = steps.resolve(name);
    save(folder, config, head, params, optimizer, state, tokenizerFile);
    signal("step-written");
    Path pointerTmp =
        steps.resolve(LATEST + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    Files.writeString(pointerTmp, name + "\n");
    replaceAtomically(pointerTmp, steps.resolve(LATEST));
    signal("pointer-switched");
    Path current = runDir.resolve(CURRENT);
    Path linkTmp =
        runDir.resolve(
            CURRENT + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    if (Files.isDirectory(current, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      deleteTree(current); // a copy written by an older version; the step folders hold the same
    }
    try {
      Files.createSymbolicLink(linkTmp, Path.of(STEPS, name));
      replaceAtomically(linkTmp, current);
    } catch (UnsupportedOperationException e) {
      save(current, config, head, params, optimizer, state, tokenizerFile); // no links here: a copy
    }
    List<Path> all = steps(runDir);
    for (int i = 0; i < all.size() - keep; i++) {
      deleteTree(all.get(i));
    }
    return folder;
  }

  private static void signal(String point) {
    var c = crashPoint;
    if (c != null) {
      c.accept(point);
    }
  }

  /** The run's step folders that hold a {@code config.json}, oldest first (by step number). */
  public static List<Path> steps(Path runDir) throws IOException {
    List<Path> out = new java.util.ArrayList<>();
    Path steps = runDir.resolve(STEPS);
    if (!Files.isDirectory(steps)) {
      return out;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(steps, "step-*")) {
      for (Path p : s) {
        if (STEP_FOLDER.matcher(p.getFileName().toString()).matches()
            && Files.isRegularFile(p.resolve(CONFIG))) {
          out.add(p);
        }
      }
    }
    out.sort(
        Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(5))));
    return out;
  }

  /**
   * Where to resume a run from: the newest step folder that loads (with optimizer state), trying
   * older ones when a newer one is damaged; {@code skipped} hears about each one passed over. Null
   * when there is none.
   */
  public static Checkpoint newest(Path runDir, java.util.function.Consumer<String> skipped)
      throws IOException {
    List<Path> all = steps(runDir);
    if (all.isEmpty() && Files.isRegularFile(runDir.resolve(CURRENT).resolve(CONFIG))) {
      all =
          List.of(
              runDir.resolve(
                  CURRENT)); // a run folder of an older version: one checkpoint, no steps
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      try {
        Checkpoint c = load(all.get(i));
        if (c.optimizer() != null) {
          return c;
        }
        skipped.accept("skipping " + all.get(i) + ": no optimizer state");
      } catch (IOException e) {
        skipped.accept("skipping " + all.get(i) + ": " + e.getMessage());
      }
    }
    return null;
  }

  /**
   * The step folder {@code checkpoints/latest} names (checked to be a plain name inside the
   * folder), or null.
   */
  public static Path latest(Path runDir) throws IOException {
    Path steps = runDir.resolve(STEPS);
    Path pointer = steps.resolve(LATEST);
    if (!Files.isRegularFile(pointer)) {
      return null;
    }
    String name = Files.readString(pointer).strip();
    try {
      return PlainFileName.resolve(steps, pointer.toString(), name);
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Training settings that may differ when a run is resumed: where it stops (and so where a cosine
   * schedule without fixed decay steps ends), how often it evaluates, logs and checkpoints,
   * threads, and the pretrain engine (both compute the same steps); the model is compared on its
   * own.
   */
  static final java.util.Set<String> MAY_CHANGE_ON_RESUME =
      java.util.Set.of(
          "max_steps",
          "decay_steps",
          "eval_every",
          "eval_batches",
          "checkpoint_every",
          "log_every",
          "threads",
          "resume",
          "model",
          "engine");

  /**
   * The settings of {@code now} that differ from the ones a checkpoint was written with ({@code
   * before}), as "max_lr 0.003 -> 0.001", leaving out {@link #MAY_CHANGE_ON_RESUME}.
   */
  public static List<String> configChanges(Map<String, Object> before, Map<String, Object> now) {
    java.util.TreeSet<String> keys = new java.util.TreeSet<>(before.keySet());
    keys.addAll(now.keySet());
    List<String> out = new java.util.ArrayList<>();
    for (String k : keys) {
      String a = String.valueOf(before.get(k));
      String b = String.valueOf(now.get(k));
      if (!MAY_CHANGE_ON_RESUME.contains(k) && !a.equals(b)) {
        out.add(k + " " + a + " -> " + b);
      }
    }
    return out;
  }

  /**
   * Replaces {@code to} (a file or link) by {@code from} in one step: readers see the old one or
   * the new one.
   */
  private static void replaceAtomically(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to);
    }
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }

  static ObjectNode configJson(GptConfig c) {
    ObjectNode n = JSON.createObjectNode();
    n.put("model_type", "gpt2");
    n.putArray("architectures").add("GPT2LMHeadModel");
    n.put("vocab_size", c.vocabSize());
    n.put("n_positions", c.blockSize());
    n.put("n_ctx", c.blockSize());
    n.put("n_embd", c.dModel());
    n.put("n_layer", c.nLayer());
    n.put("n_head", c.nHead());
    n.put("n_inner", c.mlpWidth());
    n.put("activation_function", "gelu_new");
    n.put("resid_pdrop", c.dropout());
    n.put("embd_pdrop", c.dropout());
    n.put("attn_pdrop", c.dropout());
    n.put("layer_norm_epsilon", GptConfig.LN_EPS);
    n.put("initializer_range", 0.02);
    n.put("tie_word_embeddings", c.tied());
    n.put("scale_attn_weights", true);
    n.put("torch_dtype", c.dtype());
    n.put("sparkgpt_format_version", FORMAT_VERSION);
    n.set("sparkgpt", JSON.valueToTree(c));
    return n;
  }

  /** Reads {@code config.json} of a checkpoint folder. */
  public static GptConfig readConfig(Path dir) throws IOException {
    JsonNode root = readConfigJson(dir);
    Path f = dir.resolve(CONFIG);
    JsonNode sg = root == null ? null : root.get("sparkgpt");
    if (sg == null || !sg.isObject()) {
      throw new IOException(f + ": no \"sparkgpt\" model block (not written by sparkgpt?)");
    }
    int version = root.path("sparkgpt_format_version").asInt(-1);
    if (version != FORMAT_VERSION) {
      throw new IOException(
          f + ": sparkgpt_format_version " + version + ", this reader knows " + FORMAT_VERSION);
    }
    try {
      return JSON.treeToValue(sg, GptConfig.class);
    } catch (IOException | IllegalArgumentException e) {
      throw new IOException(f + ": invalid model config: " + e.getMessage(), e);
    }
  }

  private static JsonNode readConfigJson(Path dir) throws IOException {
    Path f = dir.resolve(CONFIG);
    if (!Files.isRegularFile(f)) {
      throw new IOException(dir + ": not a checkpoint (no " + CONFIG + ")");
    }
    try {
      return JSON.readTree(f.toFile());
    } catch (IOException e) {
      throw new IOException(f + ": invalid JSON: " + e.getMessage(), e);
    }
  }

  /**
   * The extra head recorded in {@code config.json} ({@link Head#NONE} for a plain language model).
   */
  public static Head readHead(Path dir) throws IOException {
    JsonNode h = readConfigJson(dir).get(HEAD_KEY);
    try {
      return h == null ? Head.NONE : Head.of(h.asText());
    } catch (IllegalArgumentException e) {
      throw new IOException(dir.resolve(CONFIG) + ": " + e.getMessage(), e);
    }
  }

  /**
   * Loads everything: config, parameters (validated), optimizer state and training state if
   * present.
   */
  public static Checkpoint load(Path dir) throws IOException {
    return load(dir, true);
  }

  /**
   * @param withOptimizer false to skip {@code optimizer.safetensors} (generation needs only the
   *     weights)
   */
  public static Checkpoint load(Path dir, boolean withOptimizer) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + ": no such checkpoint folder");
    }
    GptConfig cfg = readConfig(dir);
    Head head = readHead(dir);
    Map<String, INDArray> params = readTensors(dir.resolve(MODEL), cfg, head, "");
    AdamW.State opt = null;
    Path optFile = dir.resolve(OPTIMIZER);
    if (withOptimizer && Files.isRegularFile(optFile)) {
      Map<String, INDArray> m = readTensors(optFile, cfg, head, "exp_avg.");
      Map<String, INDArray> v = readTensors(optFile, cfg, head, "exp_avg_sq.");
      String step = Safetensors.readHeader(optFile).metadata().get("step");
      long s;
      try {
        s = Long.parseLong(step);
      } catch (NumberFormatException | NullPointerException e) {
        throw new IOException(optFile + ": metadata 'step' missing or not a number: " + step);
      }
      opt = new AdamW.State(m, v, s);
    }
    TrainingState ts = null;
    Path tsFile = dir.resolve(TRAINING_STATE);
    if (Files.isRegularFile(tsFile)) {
      try {
        ts = JSON.readValue(tsFile.toFile(), TrainingState.class);
      } catch (JsonProcessingException e) {
        var at = e.getLocation();
        String msg = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().split("\n")[0];
        throw new IOException(
            tsFile
                + ": invalid training state"
                + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
                + ": "
                + msg
                + " (the checkpoint is damaged: resume from an "
                + "earlier one, or start afresh)",
            e);
      }
    }
    return new Checkpoint(dir, cfg, params, opt, ts, head);
  }

  /**
   * Reads the tensors named {@code prefix + paramName} for every parameter of {@code cfg} and
   * checks that there are exactly those, with the right shapes and dtype.
   */
  static Map<String, INDArray> readTensors(Path file, GptConfig cfg, Head head, String prefix)
      throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + ": missing");
    }
    Safetensors.Header h = Safetensors.readHeader(file);
    String wantType = Safetensors.dtypeName(cfg.nd4jType());
    List<GptModel.ParamSpec> specs = GptModel.paramSpecs(cfg, head);
    for (GptModel.ParamSpec s : specs) {
      Safetensors.Entry e = h.tensors().get(prefix + s.name());
      if (e == null) {
        throw new IOException(
            file + ": tensor '" + prefix + s.name() + "' is missing (config " + cfg + ")");
      }
      if (!Arrays.equals(e.shape(), s.shape())) {
        throw new IOException(
            file
                + ": tensor '"
                + prefix
                + s.name()
                + "' has shape "
                + Arrays.toString(e.shape())
                + ", the config needs "
                + Arrays.toString(s.shape()));
      }
      if (!e.dtype().equals(wantType)) {
        throw new IOException(
            file
                + ": tensor '"
                + prefix
                + s.name()
                + "' is "
                + e.dtype()
                + ", the config says "
                + wantType);
      }
    }
    if (prefix.isEmpty()) {
      List<String> extra =
          h.tensors().keySet().stream()
              .filter(n -> specs.stream().noneMatch(s -> s.name().equals(n)))
              .toList();
      if (!extra.isEmpty()) {
        throw new IOException(file + ": unexpected tensors " + extra + " for config " + cfg);
      }
    }
    Map<String, Safetensors.Tensor> all = Safetensors.read(file);
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (GptModel.ParamSpec s : specs) {
      out.put(s.name(), all.get(prefix + s.name()).array());
    }
    return out;
  }

  /** Lists checkpoint folders (those with a config.json) directly under {@code dir}. */
  public static List<Path> list(Path dir) throws IOException {
    List<Path> out = new java.util.ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        if (Files.isRegularFile(p.resolve(CONFIG))) {
          out.add(p);
        }
      }
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }
}
