package io.sparkgpt.jobs.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A training run folder: metrics.jsonl, checkpoints/step-N and checkpoint/ (as train-local and
 * pretrain write).
 */
final class RunInspector implements InspectCommand.Inspected {
  private final Path dir;

  RunInspector(Path dir) {
    this.dir = dir;
  }

  @Override
  public String kind() {
    return "a run folder";
  }

  /** metrics.jsonl's lines; a malformed one goes to problems (or fails, when problems is null). */
  private List<JsonNode> metrics(List<String> problems) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    Path f = dir.resolve("metrics.jsonl");
    if (!Files.isRegularFile(f)) {
      return out;
    }
    int n = 0;
    for (String line : Files.readAllLines(f)) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      try {
        JsonNode node = DocFiles.JSON.readTree(line);
        if (node != null && node.isObject()) {
          out.add(node);
          continue;
        }
      } catch (IOException e) {
        // reported below
      }
      if (problems == null) {
        throw new IOException(f + " line " + n + ": not a JSON object");
      }
      problems.add("metrics.jsonl line " + n + ": not a JSON object");
    }
    return out;
  }

  private List<Path> checkpoints() throws IOException {
    List<Path> out = new ArrayList<>();
    Path all = dir.resolve("checkpoints");
    if (Files.isDirectory(all)) {
      try (Stream<Path> s = Files.list(all)) {
        s.filter(Files::isDirectory)
            .filter(p -> !p.getFileName().toString().startsWith("."))
            .sorted((a, b) -> Long.compare(stepOf(a), stepOf(b)))
            .forEach(out::add);
      }
    }
    if (Files.isDirectory(dir.resolve("checkpoint"))) {
      out.add(dir.resolve("checkpoint"));
    }
    return out;
  }

  private static long stepOf(Path p) {
    String n = p.getFileName().toString();
    return n.startsWith("step-")
            && n.substring(5).chars().allMatch(Character::isDigit)
            && n.length() > 5
        ? Long.parseLong(n.substring(5))
        : -1;
  }

  @Override
  public Map<String, Object> summary() throws IOException {
    List<JsonNode> metrics = metrics(null);
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("kind", "run");
    s.put("path", dir.toString());
    JsonNode lastTrain = null;
    JsonNode bestVal = null;
    long trainLines = 0;
    double tokPerS = 0;
    for (JsonNode m : metrics) {
      if (m.has("loss")) {
        trainLines++;
        lastTrain = m;
        tokPerS += m.path("tokens_per_s").asDouble();
      }
      if (m.has("val_loss")
          && (bestVal == null
              || m.get("val_loss").asDouble() < bestVal.get("val_loss").asDouble())) {
        bestVal = m;
      }
    }
    s.put("metrics_lines", metrics.size());
    if (lastTrain != null) {
      s.put("last_step", lastTrain.path("step").asLong());
      s.put("tokens", lastTrain.path("tokens").asLong());
      s.put("last_loss", lastTrain.path("loss").asDouble());
      s.put("mean_tokens_per_s", Math.round(tokPerS / trainLines * 10) / 10.0);
    }
    if (bestVal != null) {
      s.put("best_val_loss", bestVal.get("val_loss").asDouble());
      s.put("best_val_step", bestVal.path("step").asLong());
    }
    Map<String, Object> cps = new LinkedHashMap<>();
    for (Path c : checkpoints()) {
      Map<String, Object> x = new LinkedHashMap<>();
      long bytes = 0;
      try (Stream<Path> files = Files.list(c)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          bytes += Files.size(f);
        }
      }
      x.put("bytes", bytes);
      JsonNode state = readJson(c.resolve("training_state.json"));
      if (state != null) {
        x.put("step", state.path("step").asLong());
      }
      cps.put(dir.relativize(c).toString(), x);
    }
    s.put("checkpoints", cps);
    return s;
  }

  private static JsonNode readJson(Path f) {
    try {
      return Files.isRegularFile(f) ? DocFiles.JSON.readTree(f.toFile()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public String verify(List<String> problems) throws IOException {
    List<JsonNode> metrics = metrics(problems);
    long last = -1;
    for (JsonNode m : metrics) {
      if (m.has("loss")) {
        long step = m.path("step").asLong(-1);
        if (step <= last) {
          problems.add("metrics.jsonl: step " + step + " after step " + last);
        }
        last = step;
      }
    }
    int files = 0;
    java.util.Set<Path> verified = new java.util.HashSet<>();
    for (Path c : checkpoints()) {
      if (!verified.add(c.toRealPath())) {
        continue; // checkpoint/ is a link to the newest checkpoints/step-N, verified already
      }
      String name = dir.relativize(c).toString();
      if (readJson(c.resolve("config.json")) == null) {
        problems.add(name + ": config.json missing or not JSON");
      }
      for (String st : List.of("model.safetensors", "optimizer.safetensors")) {
        Path f = c.resolve(st);
        if (!Files.exists(f)) {
          if (st.startsWith("model")) {
            problems.add(name + ": " + st + " missing");
          }
          continue;
        }
        files++;
        try {
          Safetensors.readHeader(f);
        } catch (IOException | RuntimeException e) {
          problems.add(name + ": " + e.getMessage().replace(f.toString(), st));
        }
      }
      if (Files.exists(c.resolve("training_state.json"))) {
        JsonNode state = readJson(c.resolve("training_state.json"));
        if (state == null) {
          problems.add(name + ": training_state.json is not JSON");
        } else if (stepOf(c) >= 0 && state.path("step").asLong() != stepOf(c)) {
          problems.add(name + ": training_state.json says step " + state.path("step").asLong());
        }
      }
    }
    return metrics.size() + " metrics lines, " + files + " safetensors files";
  }

  @Override
  public Histogram.Lengths lengths() {
    throw new UserError("--histogram needs a dataset or a clean output, not a run folder");
  }
}
