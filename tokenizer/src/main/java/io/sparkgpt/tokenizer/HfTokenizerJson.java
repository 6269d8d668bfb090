package io.sparkgpt.tokenizer;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * HuggingFace {@code tokenizer.json} for byte-level BPE: a {@code BPE} model (vocab, merges,
 * optional {@code ignore_merges}), {@code added_tokens} (our special tokens), and a pre-tokenizer
 * that is either {@code ByteLevel} with {@code use_regex} (the GPT-2 pattern) or a {@code Sequence}
 * of a {@code Split} on one of the {@link SplitPattern} regexes and {@code ByteLevel} without
 * regex. Anything that would change the ids (a normalizer, dropout, byte fallback, subword
 * prefixes, a prefix space, another regex) is rejected rather than ignored. Post-processors are
 * ignored: our {@code encode} never adds special tokens by itself.
 */
final class HfTokenizerJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private HfTokenizerJson() {}

  public static ByteLevelBpe load(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return load(in, path.toString());
    }
  }

  /**
   * @throws IllegalArgumentException with a one-line reason if the file is malformed or unsupported
   */
  public static ByteLevelBpe load(InputStream in, String name) throws IOException {
    JsonNode root;
    try {
      root = MAPPER.readTree(in);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          name
              + ": malformed JSON: "
              + e.getOriginalMessage()
              + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""));
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(name + ": not a tokenizer.json object");
    }
    JsonNode model = root.path("model");
    if (!model.isObject()) {
      throw new IllegalArgumentException(name + ": no model");
    }
    if (model.has("type") && !"BPE".equals(model.get("type").asText())) {
      throw new IllegalArgumentException(
          name + ": model type " + model.get("type").asText() + " is not BPE");
    }
    requireNull(model, "dropout", name);
    requireEmpty(model, "continuing_subword_prefix", name);
    requireEmpty(model, "end_of_word_suffix", name);
    if (model.path("byte_fallback").asBoolean(false)) {
      throw new IllegalArgumentException(
          name + ": byte_fallback is not supported (byte-level BPE needs none)");
    }
    requireNull(root, "normalizer", name);
    SplitPattern pattern = preTokenizer(root.path("pre_tokenizer"), name);
    JsonNode decoder = root.path("decoder");
    if (!decoder.isMissingNode()
        && !decoder.isNull()
        && !"ByteLevel".equals(decoder.path("type").asText())) {
      throw new IllegalArgumentException(
          name + ": decoder " + decoder.path("type").asText() + " is not ByteLevel");
    }

    Map<String, Integer> specials = new LinkedHashMap<>();
    JsonNode added = root.path("added_tokens");
    if (!added.isMissingNode() && !added.isNull()) {
      if (!added.isArray()) {
        throw new IllegalArgumentException(name + ": added_tokens is not an array");
      }
      for (JsonNode t : added) {
        String content = t.path("content").asText("");
        int id = id(t.path("id"), name, "added token " + ByteLevel.quote(content));
        if (content.isEmpty()) {
          throw new IllegalArgumentException(name + ": added token " + id + " has no content");
        }
        if (specials.put(content, id) != null) {
          throw new IllegalArgumentException(
              name + ": added token " + ByteLevel.quote(content) + " twice");
        }
      }
    }
    Map<Integer, String> specialById = new HashMap<>();
    specials.forEach((k, v) -> specialById.put(v, k));

    JsonNode vocab = model.path("vocab");
    if (!vocab.isObject()) {
      throw new IllegalArgumentException(name + ": model.vocab is not an object");
    }
    Map<String, Integer> ids = new HashMap<>(vocab.size() * 2);
    byte[][] tokens = new byte[0][];
    for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String token = e.getKey();
      int id = id(e.getValue(), name, "token " + ByteLevel.quote(token));
      ids.put(token, id);
      String special = specialById.get(id);
      if (special != null) {
        if (!special.equals(token)) {
          throw new IllegalArgumentException(
              name
                  + ": id "
                  + id
                  + " is both "
                  + ByteLevel.quote(token)
                  + " and added token "
                  + ByteLevel.quote(special));
        }
        continue; // the special token's own entry, as in GPT-2's file
      }
      byte[] bytes = ByteLevel.decode(token);
      if (bytes == null || bytes.length == 0) {
        throw new IllegalArgumentException(
            name
                + ": token "
                + ByteLevel.quote(token)
                + " (id "
                + id
                + ") is not a byte-level string");
      }
      if (id >= tokens.length) {
        tokens = Arrays.copyOf(tokens, Math.max(id + 1, tokens.length * 2));
      }
      if (tokens[id] != null) {
        throw new IllegalArgumentException(
            name + ": id " + id + " appears twice in the vocabulary");
      }
      tokens[id] = bytes;
    }
    int last = tokens.length;
    while (last > 0 && tokens[last - 1] == null) {
      last--;
    }
    tokens = Arrays.copyOf(tokens, last);

    JsonNode mergeList = model.path("merges");
    if (!mergeList.isArray()) {
      throw new IllegalArgumentException(name + ": model.merges is not an array");
    }
    int[][] merges = new int[mergeList.size()][];
    for (int r = 0; r < merges.length; r++) {
      JsonNode m = mergeList.get(r);
      String left, right;
      if (m.isTextual()) { // "a b", the format before tokenizers 0.20
        String[] parts = m.asText().split(" ", -1);
        if (parts.length != 2) {
          throw new IllegalArgumentException(name + ": merge " + r + " is not 'left right'");
        }
        left = parts[0];
        right = parts[1];
      } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
        left = m.get(0).asText();
        right = m.get(1).asText();
      } else {
        throw new IllegalArgumentException(name + ": merge " + r + " is neither 'a b' nor [a, b]");
      }
      Integer l = ids.get(left), rt = ids.get(right);
      if (l == null || rt == null) {
        throw new IllegalArgumentException(
            name
                + ": merge "
                + r
                + " uses "
                + ByteLevel.quote(l == null ? left : right)
                + ", which is not in the vocabulary");
      }
      merges[r] = new int[] {l, rt};
    }
    boolean ignoreMerges = model.path("ignore_merges").asBoolean(false);
    try {
      return ByteLevelBpe.fromMerges(name, pattern, tokens, merges, ignoreMerges, specials);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage());
    }
  }

  private static SplitPattern preTokenizer(JsonNode p, String name) {
    String type = p.path("type").asText("");
    if (type.equals("ByteLevel")) {
      byteLevel(p, true, name);
      return SplitPattern.GPT2;
    }
    if (type.equals("Sequence") && p.path("pretokenizers").size() == 2) {
      JsonNode split = p.path("pretokenizers").get(0);
      JsonNode level = p.path("pretokenizers").get(1);
      if (split.path("type").asText().equals("Split")
          && level.path("type").asText().equals("ByteLevel")) {
        String regex = split.path("pattern").path("Regex").asText("");
        SplitPattern pattern = SplitPattern.forRegex(regex);
        if (pattern == null) {
          throw new IllegalArgumentException(
              name + ": unsupported split regex " + ByteLevel.quote(regex));
        }
        if (!split.path("behavior").asText().equals("Isolated")
            || split.path("invert").asBoolean(false)) {
          throw new IllegalArgumentException(name + ": Split must be Isolated and not inverted");
        }
        byteLevel(level, false, name);
        return pattern;
      }
    }
    throw new IllegalArgumentException(
        name
            + ": unsupported pre_tokenizer "
            + ByteLevel.quote(p.toString())
            + " (expected ByteLevel, or Sequence[Split, ByteLevel])");
  }

  private static void byteLevel(JsonNode p, boolean useRegex, String name) {
    if (p.path("add_prefix_space").asBoolean(false)) {
      throw new IllegalArgumentException(
          name + ": ByteLevel add_prefix_space=true is not supported");
    }
    if (p.path("use_regex").asBoolean(true) != useRegex) {
      throw new IllegalArgumentException(
          name + ": ByteLevel use_regex must be " + useRegex + " here");
    }
  }

  private static int id(JsonNode n, String name, String what) {
    if (!n.canConvertToInt()
        || !n.isIntegralNumber()
        || n.asInt() < 0
        || n.asInt() > TiktokenFile.MAX_RANK) {
      throw new IllegalArgumentException(name + ": " + what + " has invalid id " + n);
    }
    return n.asInt();
  }

  private static void requireNull(JsonNode parent, String field, String name) {
    JsonNode n = parent.path(field);
    if (!n.isMissingNode() && !n.isNull()) {
      throw new IllegalArgumentException(
          name + ": " + field + " is not supported (" + ByteLevel.quote(n.toString()) + ")");
    }
  }

  private static void requireEmpty(JsonNode parent, String field, String name) {
    JsonNode n = parent.path(field);
    if (!n.isMissingNode() && !n.isNull() && !n.asText().isEmpty()) {
      throw new IllegalArgumentException(name + ": " + field + " is not supported");
    }
  }

  /** Writes {@code bpe} as a tokenizer.json that HuggingFace tokenizers loads with the same ids. */
  public static void save(ByteLevelBpe bpe, Path path) throws IOException {
    try (OutputStream out = Files.newOutputStream(path)) {
      save(bpe, out);
    }
  }

  public static void save(ByteLevelBpe bpe, OutputStream out) throws IOException {
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode root = f.objectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    // Sorted by id: the bytes of the file must not depend on the iteration order of the
    // special-token map.
    for (Map.Entry<String, Integer> e :
        bpe.specialTokens().entrySet().stream().sorted(Map.Entry.comparingByValue()).toList()) {
      ObjectNode t = added.addObject();
      t.put("id", e.getValue());
      t.put("content", e.getKey());
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
    }
    root.putNull("normalizer");
    if (bpe.pattern() == SplitPattern.GPT2) {
      root.set("pre_tokenizer", byteLevelNode(f, true));
    } else {
      ObjectNode seq = root.putObject("pre_tokenizer");
      seq.put("type", "Sequence");
      ArrayNode list = seq.putArray("pretokenizers");
      ObjectNode split = list.addObject();
      split.put("type", "Split");
      split.putObject("pattern").put("Regex", bpe.pattern().regex());
      split.put("behavior", "Isolated");
      split.put("invert", false);
      list.add(byteLevelNode(f, false));
    }
    root.putNull("post_processor");
    root.set("decoder", byteLevelNode(f, true));
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    // tiktoken looks a piece up whole before merging; HuggingFace does the same with ignore_merges.
    model.put("ignore_merges", bpe.isTiktokenFlavour() || bpe.ignoresMerges());
    ObjectNode vocab = model.putObject("vocab");
    String[] strings = new String[bpe.vocabSize()];
    for (int id = 0; id < strings.length; id++) {
      if (bpe.isValidId(id)) {
        strings[id] =
            bpe.isSpecial(id)
                ? new String(bpe.tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8)
                : ByteLevel.encode(bpe.tokenBytes(id));
        vocab.put(strings[id], id);
      }
    }
    ArrayNode merges = model.putArray("merges");
    for (int[] m : bpe.mergeList()) {
      merges.add(strings[m[0]] + " " + strings[m[1]]);
    }
    MAPPER
        .writerWithDefaultPrettyPrinter()
        .without(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
        .writeValue(out, root);
  }

  private static ObjectNode byteLevelNode(JsonNodeFactory f, boolean useRegex) {
    ObjectNode n = f.objectNode();
    n.put("type", "ByteLevel");
    n.put("add_prefix_space", false);
    n.put("trim_offsets", true);
    n.put("use_regex", useRegex);
    return n;
  }
}
