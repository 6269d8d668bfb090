package io.sparkgpt.jobs.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.report.HtmlReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code RUN_DIR/report.html} of a training run, made from its {@code metrics.jsonl}: a summary,
 * the loss curves (train and validation against tokens), throughput per step, tokens per source of
 * a mixture, and settings changed on resume. Self-contained ({@link HtmlReport}); replaced
 * atomically.
 */
public final class RunReport {
  static final String FILE = "report.html";
  private static final ObjectMapper JSON = new ObjectMapper();

  private RunReport() {}

  public static Path write(Path runDir, String title) throws IOException {
    List<double[]> train = new ArrayList<>(); // tokens, loss, step, tokens/s
    List<double[]> val = new ArrayList<>(); // tokens, val loss
    Map<String, Long> perSource = new LinkedHashMap<>();
    List<List<Object>> changes = new ArrayList<>();
    for (String line :
        Files.readAllLines(runDir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
      JsonNode n;
      try {
        n = JSON.readTree(line);
      } catch (IOException e) {
        continue; // a line cut by a crash
      }
      if (n == null) {
        continue;
      }
      double tokens = n.path("tokens").asDouble();
      if (n.has("loss")) {
        train.add(
            new double[] {
              tokens,
              n.get("loss").asDouble(),
              n.path("step").asDouble(),
              n.path("tokens_per_s").asDouble()
            });
        for (Iterator<Map.Entry<String, JsonNode>> it = n.path("tokens_per_source").fields();
            it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          perSource.put(e.getKey(), e.getValue().asLong());
        }
      }
      if (n.has("val_loss")) {
        val.add(new double[] {tokens, n.get("val_loss").asDouble()});
      }
      if (n.has("config_change")) {
        changes.add(List.of(n.path("step").asLong(), n.get("config_change").toString()));
      }
    }
    HtmlReport h = new HtmlReport(title);
    double[] last = train.isEmpty() ? null : train.get(train.size() - 1);
    h.table(
        List.of("steps", "tokens", "final train loss", "final validation loss", "mean tokens/s"),
        List.of(
            List.of(
                last == null ? 0L : (long) last[2],
                last == null ? 0L : (long) last[0],
                last == null ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", last[1]),
                val.isEmpty()
                    ? "n/a"
                    : String.format(java.util.Locale.ROOT, "%.4f", val.get(val.size() - 1)[1]),
                train.stream().mapToDouble(r -> r[3]).average().orElse(0))));
    h.heading("Loss");
    Map<String, double[][]> loss = new LinkedHashMap<>();
    loss.put("train", column(train, 0, 1));
    loss.put("validation", column(val, 0, 1));
    h.lineChart("Loss against tokens", "tokens", "loss", loss);
    h.heading("Throughput");
    h.lineChart("Tokens per second", "step", "tokens/s", Map.of("tokens/s", column(train, 2, 3)));
    if (!perSource.isEmpty()) {
      h.heading("Tokens per source");
      long total = perSource.values().stream().mapToLong(Long::longValue).sum();
      List<List<Object>> rows = new ArrayList<>();
      perSource.forEach((name, t) -> rows.add(List.of(name, t, 100.0 * t / Math.max(1, total))));
      h.table(List.of("source", "tokens", "share %"), rows);
      h.barChart("Tokens per source", "source", "tokens", perSource);
    }
    if (!changes.isEmpty()) {
      h.heading("Settings changed on resume");
      h.table(List.of("step", "changes"), changes);
    }
    Path out = runDir.resolve(FILE);
    Path tmp = runDir.resolve("." + FILE + ".inprogress");
    Files.writeString(tmp, h.html(), StandardCharsets.UTF_8);
    Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return out;
  }

  private static double[][] column(List<double[]> rows, int x, int y) {
    double[][] out = new double[2][rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      out[0][i] = rows.get(i)[x];
      out[1][i] = rows.get(i)[y];
    }
    return out;
  }
}
