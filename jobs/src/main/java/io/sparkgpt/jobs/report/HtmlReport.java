package io.sparkgpt.jobs.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A self-contained HTML report: tables, bar and line charts drawn with XChart, embedded as base64
 * PNG data URIs, one inline style sheet, no script and nothing fetched from anywhere, so that it
 * opens the same from a mail attachment, a CI artifact or an air-gapped cluster.
 */
public final class HtmlReport {
  private final StringBuilder body = new StringBuilder();
  private final String title;

  public HtmlReport(String title) {
    this.title = title;
  }

  public static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }

  public HtmlReport heading(String text) {
    body.append("<h2>").append(escape(text)).append("</h2>\n");
    return this;
  }

  public HtmlReport paragraph(String text) {
    body.append("<p>").append(escape(text)).append("</p>\n");
    return this;
  }

  /** A table; numbers are right-aligned and grouped by thousands. */
  public HtmlReport table(List<String> header, List<List<Object>> rows) {
    body.append("<table>\n<tr>");
    for (String h : header) {
      body.append("<th>").append(escape(h)).append("</th>");
    }
    body.append("</tr>\n");
    for (List<Object> row : rows) {
      body.append("<tr>");
      for (Object v : row) {
        boolean number = v instanceof Number;
        body.append(number ? "<td class=\"n\">" : "<td>").append(escape(format(v))).append("</td>");
      }
      body.append("</tr>\n");
    }
    body.append("</table>\n");
    return this;
  }

  static String format(Object v) {
    if (v instanceof Long || v instanceof Integer) {
      return String.format(Locale.ROOT, "%,d", ((Number) v).longValue());
    }
    if (v instanceof Double d) {
      return String.format(Locale.ROOT, "%,.2f", d);
    }
    return String.valueOf(v);
  }

  /**
   * A bar chart with one bar per category and series (insertion order), as an embedded PNG.
   *
   * @param series name -> one value per category
   */
  public HtmlReport barChart(
      String chartTitle,
      String xTitle,
      String yTitle,
      List<String> categories,
      Map<String, List<? extends Number>> series) {
    if (categories.isEmpty()) {
      return paragraph(chartTitle + ": nothing to draw.");
    }
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(900)
            .height(420)
            .title(chartTitle)
            .xAxisTitle(xTitle)
            .yAxisTitle(yTitle)
            .build();
    chart.getStyler().setLegendVisible(series.size() > 1);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    boolean crowded =
        categories.size() > 6 || categories.stream().mapToInt(String::length).sum() > 60;
    chart.getStyler().setXAxisLabelRotation(crowded ? 45 : 0);
    chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    series.forEach((name, values) -> chart.addSeries(name, categories, values));
    return png(chartTitle, chart);
  }

  /**
   * A line chart, as an embedded PNG.
   *
   * @param series name -> {x values, y values}
   */
  public HtmlReport lineChart(
      String chartTitle, String xTitle, String yTitle, Map<String, double[][]> series) {
    Map<String, double[][]> drawn = new LinkedHashMap<>();
    series.forEach(
        (name, xy) -> {
          if (xy[0].length > 0) {
            drawn.put(name, xy);
          }
        });
    if (drawn.isEmpty()) {
      return paragraph(chartTitle + ": nothing to draw.");
    }
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(420)
            .title(chartTitle)
            .xAxisTitle(xTitle)
            .yAxisTitle(yTitle)
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    drawn.forEach(
        (name, xy) ->
            chart
                .addSeries(name, xy[0], xy[1])
                .setMarker(xy[0].length > 40 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE));
    return png(chartTitle, chart);
  }

  private HtmlReport png(String chartTitle, org.knowm.xchart.internal.chartpart.Chart<?, ?> chart) {
    try {
      byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
      body.append("<figure><img alt=\"")
          .append(escape(chartTitle))
          .append("\" width=\"900\" height=\"420\" src=\"")
          .append("data:image/png;base64,")
          .append(Base64.getEncoder().encodeToString(png))
          .append("\"></figure>\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** One series from a map's entries, in its order. */
  public HtmlReport barChart(
      String chartTitle, String xTitle, String yTitle, Map<String, ? extends Number> values) {
    Map<String, List<? extends Number>> one = new LinkedHashMap<>();
    one.put(yTitle, List.copyOf(values.values()));
    return barChart(chartTitle, xTitle, yTitle, List.copyOf(values.keySet()), one);
  }

  public String html() {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n<title>"
        + escape(title)
        + "</title>\n<style>\n"
        + "body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; background: #fff; }\n"
        + "table { border-collapse: collapse; margin: 0.5em 0 1.5em; }\n"
        + "th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }\n"
        + "td.n { text-align: right; font-variant-numeric: tabular-nums; }\n"
        + "th { background: #f0f0f0; }\nfigure { margin: 0.5em 0 1.5em; }\n"
        + "</style>\n</head>\n<body>\n<h1>"
        + escape(title)
        + "</h1>\n"
        + body
        + "</body>\n</html>\n";
  }
}
