package io.sparkgpt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The pretrain benchmark's convergence plot: training loss against tokens for each run of {@code
 * scripts/bench-pretrain.sh}, one line per run, read from the runs' {@code metrics.jsonl}.
 *
 * <p>usage: PretrainBenchPlot OUT.png TITLE LABEL=RUN_DIR...
 */
public final class PretrainBenchPlot {
  public static void main(String[] args) throws Exception {
    System.setProperty("java.awt.headless", "true");
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(560)
            .title(args[1])
            .xAxisTitle("tokens")
            .yAxisTitle("training loss (nats/token)")
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setPlotGridLinesVisible(true);
    ObjectMapper json = new ObjectMapper();
    for (int i = 2; i < args.length; i++) {
      String label =
          args[i].substring(
              0, args[i].lastIndexOf('=')); // labels may hold '=' ("K=4"), paths do not
      Path metrics = Path.of(args[i].substring(label.length() + 1), "metrics.jsonl");
      List<Double> tokens = new ArrayList<>();
      List<Double> loss = new ArrayList<>();
      for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
        JsonNode n = line.isBlank() ? null : json.readTree(line);
        if (n != null && n.has("loss")) {
          tokens.add(n.get("tokens").asDouble());
          loss.add(n.get("loss").asDouble());
        }
      }
      chart.addSeries(label, tokens, loss).setMarker(SeriesMarkers.CIRCLE);
    }
    BitmapEncoder.saveBitmap(chart, args[0], BitmapEncoder.BitmapFormat.PNG);
  }
}
