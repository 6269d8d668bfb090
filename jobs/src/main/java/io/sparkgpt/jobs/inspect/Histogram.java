package io.sparkgpt.jobs.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

/**
 * Document lengths and their histogram as a PNG (XChart, as loss.png), bins on a logarithmic scale.
 */
final class Histogram {
  private Histogram() {}

  /** Document lengths in one unit ("tokens" or "bytes"), sorted. */
  record Lengths(long[] values, String unit) {
    Lengths {
      values = values.clone();
      Arrays.sort(values);
    }

    long median() {
      return values.length == 0 ? 0 : values[values.length / 2];
    }

    long max() {
      return values.length == 0 ? 0 : values[values.length - 1];
    }
  }

  /**
   * Bins of equal width in log2 (two per octave), from the shortest to the longest document, so
   * that a few very long documents do not squash the rest into one bar. Labels are the bins' lower
   * bounds.
   */
  static void write(Path png, Lengths lengths, String title) throws IOException {
    long[] v = lengths.values();
    if (v.length == 0) {
      throw new io.sparkgpt.jobs.UserError("no documents: nothing to draw");
    }
    double lo = Math.log(Math.max(1, v[0])) / Math.log(2);
    double hi = Math.log(Math.max(2, v[v.length - 1] + 1)) / Math.log(2);
    int bins = Math.max(1, Math.min(40, (int) Math.ceil((hi - lo) * 2)));
    double width = (hi - lo) / bins;
    long[] counts = new long[bins];
    for (long x : v) {
      int b = (int) ((Math.log(Math.max(1, x)) / Math.log(2) - lo) / width);
      counts[Math.max(0, Math.min(bins - 1, b))]++;
    }
    String[] labels = new String[bins];
    Long[] ys = new Long[bins];
    for (int b = 0; b < bins; b++) {
      labels[b] =
          String.format(java.util.Locale.ROOT, "%,d", Math.round(Math.pow(2, lo + b * width)));
      ys[b] = counts[b];
    }
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(900)
            .height(520)
            .title(
                title
                    + ": "
                    + v.length
                    + " documents, median "
                    + lengths.median()
                    + " "
                    + lengths.unit())
            .xAxisTitle("document length in " + lengths.unit() + " (bin start, log scale)")
            .yAxisTitle("documents")
            .build();
    chart.getStyler().setLegendVisible(false);
    chart.getStyler().setXAxisLabelRotation(60);
    chart.getStyler().setAvailableSpaceFill(0.95);
    chart.addSeries("documents", Arrays.asList(labels), Arrays.asList(ys));
    Path tmp = png.resolveSibling("." + png.getFileName() + ".inprogress.png");
    if (png.toAbsolutePath().getParent() != null) {
      Files.createDirectories(png.toAbsolutePath().getParent());
    }
    BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
    Files.move(tmp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
