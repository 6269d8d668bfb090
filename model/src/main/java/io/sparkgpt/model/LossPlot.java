package io.sparkgpt.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code loss.png}: train and validation loss against tokens seen, drawn with XChart (headless).
 */
public final class LossPlot {
  private LossPlot() {}

  /**
   * Writes a PNG at {@code file} (atomically). {@code trainTokens}/{@code trainLoss} and {@code
   * valTokens}/{@code valLoss} are parallel lists; either may be empty.
   */
  public static void write(
      Path file,
      String title,
      List<Double> trainTokens,
      List<Double> trainLoss,
      List<Double> valTokens,
      List<Double> valLoss)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(560)
            .title(title)
            .xAxisTitle("tokens")
            .yAxisTitle("loss (nats/token)")
            .build();
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
    chart.getStyler().setPlotGridLinesVisible(true);
    chart.getStyler().setDecimalPattern("#,##0.###");
    if (!trainTokens.isEmpty()) {
      XYSeries s = chart.addSeries("train", trainTokens, trainLoss);
      s.setMarker(SeriesMarkers.NONE);
    }
    if (!valTokens.isEmpty()) {
      XYSeries s = chart.addSeries("validation", valTokens, valLoss);
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    if (trainTokens.isEmpty() && valTokens.isEmpty()) {
      chart.addSeries("train", new double[] {0}, new double[] {0});
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp.png");
    BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
  }
}
