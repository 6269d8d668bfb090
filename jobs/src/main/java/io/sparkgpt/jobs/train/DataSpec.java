package io.sparkgpt.jobs.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.dataset.Mixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * What {@code --data} names: one dataset, or a token-weighted mixture of datasets written inline
 * ({@code web=DIR:0.7,code=DIR2:0.2:max_epochs=2}) or as a JSON file ({@code {"sources": [{"name":
 * "web", "path": "DIR", "weight": 0.7, "max_epochs": 2}, ...]}}, paths relative to the file's
 * folder). A location may be a Hadoop URI ({@code hdfs://host:8020/x}): the weight and options are
 * read from the right.
 *
 * @param locations one per source (one for a single dataset)
 * @param sources the blend, or null for a single dataset
 */
public record DataSpec(List<String> locations, List<Mixture.Source> sources) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public boolean mixture() {
    return sources != null;
  }

  public static DataSpec parse(String data) {
    return parse("--data", data);
  }

  /** As above for an option named {@code flag} (in error messages). */
  public static DataSpec parse(String flag, String data) {
    if (data.endsWith(".json") && Files.isRegularFile(Path.of(data))) {
      return file(flag, Path.of(data));
    }
    if (!data.contains("=") || Files.isDirectory(Path.of(data))) {
      return new DataSpec(List.of(data), null);
    }
    List<String> locations = new ArrayList<>();
    List<Mixture.Source> sources = new ArrayList<>();
    for (String part : data.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new UserError(flag + ": '" + part + "' is not NAME=DIR:WEIGHT[:max_epochs=E]");
      }
      String name = part.substring(0, eq);
      String rest = part.substring(eq + 1);
      double maxEpochs = 0;
      int colon = rest.lastIndexOf(':');
      if (colon > 0 && rest.substring(colon + 1).startsWith("max_epochs=")) {
        maxEpochs =
            number(flag, name, "max_epochs", rest.substring(colon + 1 + "max_epochs=".length()));
        rest = rest.substring(0, colon);
        colon = rest.lastIndexOf(':');
      }
      if (colon <= 0) {
        throw new UserError(
            flag
                + ": source "
                + name
                + " has no weight ('"
                + part
                + "' is not NAME=DIR:WEIGHT[:max_epochs=E])");
      }
      double weight = number(flag, name, "weight", rest.substring(colon + 1));
      locations.add(rest.substring(0, colon));
      sources.add(source(flag, name, weight, maxEpochs));
    }
    return check(flag, locations, sources);
  }

  private static DataSpec file(String flag, Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UserError(
          flag
              + " "
              + file
              + ": not a JSON mixture file ("
              + e.getMessage().lines().findFirst().orElse("")
              + ")");
    }
    JsonNode list = root == null ? null : root.get("sources");
    if (list == null || !list.isArray() || list.isEmpty()) {
      throw new UserError(flag + " " + file + ": needs a non-empty \"sources\" array");
    }
    List<String> locations = new ArrayList<>();
    List<Mixture.Source> sources = new ArrayList<>();
    for (Iterator<JsonNode> it = list.elements(); it.hasNext(); ) {
      JsonNode s = it.next();
      for (String field : List.of("name", "path", "weight")) {
        if (!s.hasNonNull(field)) {
          throw new UserError(flag + " " + file + ": a source has no \"" + field + "\": " + s);
        }
      }
      if (!s.get("weight").isNumber() || s.has("max_epochs") && !s.get("max_epochs").isNumber()) {
        throw new UserError(flag + " " + file + ": weight and max_epochs must be numbers: " + s);
      }
      String path = s.get("path").asText();
      boolean uri = path.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.*");
      locations.add(
          uri || Path.of(path).isAbsolute()
              ? path
              : file.toAbsolutePath().getParent().resolve(path).toString());
      sources.add(
          source(
              flag,
              s.get("name").asText(),
              s.get("weight").asDouble(),
              s.path("max_epochs").asDouble(0)));
    }
    return check(flag, locations, sources);
  }

  private static Mixture.Source source(String flag, String name, double weight, double maxEpochs) {
    try {
      return new Mixture.Source(name, weight, maxEpochs);
    } catch (IllegalArgumentException e) {
      throw new UserError(flag + ": " + e.getMessage());
    }
  }

  private static double number(String flag, String name, String what, String text) {
    try {
      return Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new UserError(
          flag + ": source " + name + ": " + what + " '" + text + "' is not a number");
    }
  }

  private static DataSpec check(String flag, List<String> locations, List<Mixture.Source> sources) {
    Set<String> names = new HashSet<>();
    for (Mixture.Source s : sources) {
      if (!names.add(s.name())) {
        throw new UserError(flag + ": source name " + s.name() + " appears twice");
      }
    }
    return new DataSpec(List.copyOf(locations), List.copyOf(sources));
  }
}
