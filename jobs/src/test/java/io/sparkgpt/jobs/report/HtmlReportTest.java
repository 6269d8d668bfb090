package io.sparkgpt.jobs.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.jobs.Cli;
import io.sparkgpt.jobs.Cli.Result;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report.html of clean, tokenize and a training run, made by the real commands from sample/,
 * rendered by headless Chromium (Debian's chromium package): the screenshot must show the page and
 * the browser must log no console message.
 */
class HtmlReportTest {
  @TempDir static Path tmp;

  static Path cleanHtml;
  static Path tokenizeHtml;
  static Path runHtml;

  static void ok(Result r) {
    assertEquals(0, r.code(), () -> r.err() + r.out());
  }

  @BeforeAll
  static void produce() {
    String sample = Path.of("..", "sample").toString();
    Path clean = tmp.resolve("clean");
    ok(
        Cli.run(
            "clean",
            "--master",
            "local[2]",
            "-i",
            sample,
            "-o",
            clean.toString(),
            "--report",
            tmp.resolve("clean-report.json").toString()));
    cleanHtml = tmp.resolve("clean-report.html");
    Path tok = tmp.resolve("tokenizer.json");
    ok(
        Cli.run(
            "train-tokenizer",
            "--master",
            "local[2]",
            "-i",
            clean.toString(),
            "-o",
            tok.toString(),
            "--vocab-size",
            "300"));
    Path data = tmp.resolve("data");
    ok(
        Cli.run(
            "tokenize",
            "--master",
            "local[2]",
            "-i",
            clean.toString(),
            "-t",
            tok.toString(),
            "-o",
            data.toString(),
            "--seq-len",
            "64",
            "--val-fraction",
            "0.05",
            "--shard-tokens",
            "100000"));
    tokenizeHtml = data.resolve("report.html");
    Path run = tmp.resolve("run");
    ok(
        Cli.run(
            "train-local",
            "--data",
            "a=" + data + ":3,b=" + data + ":1",
            "--output",
            run.toString(),
            "--preset",
            "tiny",
            "--block-size",
            "64",
            "--d-model",
            "32",
            "--layers",
            "1",
            "--heads",
            "2",
            "--batch-size",
            "4",
            "--steps",
            "12",
            "--warmup",
            "2",
            "--eval-every",
            "4",
            "--eval-batches",
            "1",
            "--threads",
            "1"));
    runHtml = run.resolve("report.html");
  }

  static final Pattern REFERENCE = Pattern.compile("(?:src|href)=\"([^\"]*)\"");

  /**
   * Every src and href is a data: URI, and nothing mentions a network scheme: the page needs no
   * other file.
   */
  static void assertSelfContained(String html, int images) {
    Matcher m = REFERENCE.matcher(html);
    int pngs = 0;
    while (m.find()) {
      assertTrue(m.group(1).startsWith("data:"), "external reference " + m.group(1));
      pngs += m.group(1).startsWith("data:image/png;base64,") ? 1 : 0;
    }
    assertEquals(images, pngs);
    assertFalse(html.contains("http://") || html.contains("https://"));
    assertFalse(html.contains("<script"));
  }

  @Test
  void cleanReportHasItsChartsAndNothingExternal() throws IOException {
    String html = Files.readString(cleanHtml);
    // steps, top reasons, languages, lengths before/after, PII, near-duplicate clusters
    assertSelfContained(html, 6);
    for (String heading :
        List.of(
            "Documents per step",
            "Top drop reasons",
            "Languages of the kept documents",
            "Document lengths",
            "Personal data redacted",
            "Near-duplicate clusters")) {
      assertTrue(html.contains("<h2>" + heading + "</h2>"), heading);
    }
    assertTrue(html.contains("<td>fuzzy_dedup</td>"));
  }

  @Test
  void tokenizeReportHasItsChartsAndNothingExternal() throws IOException {
    String html = Files.readString(tokenizeHtml);
    // tokens per shard and per source (the clean output's source field)
    assertSelfContained(html, 2);
    assertTrue(html.contains("<td>train</td>") && html.contains("<td>val</td>"));
    assertTrue(html.contains("<h2>Sources</h2>"), html);
  }

  @Test
  void trainingReportHasTheLossCurvesAndTheBlend() throws IOException {
    String html = Files.readString(runHtml);
    // loss against tokens, tokens/s, tokens per source
    assertSelfContained(html, 3);
    for (String heading : List.of("Loss", "Throughput", "Tokens per source")) {
      assertTrue(html.contains("<h2>" + heading + "</h2>"), heading);
    }
    assertTrue(html.contains("<td>a</td>") && html.contains("<td>b</td>"), html);
  }

  static String chromium() {
    for (String name : List.of("chromium", "chromium-browser")) {
      for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        if (Files.isExecutable(Path.of(dir, name))) {
          return Path.of(dir, name).toString();
        }
      }
    }
    return null;
  }

  record Rendered(BufferedImage screenshot, List<String> console) {}

  /** Renders a page headless into a PNG; returns it and the console messages Chromium logged. */
  static Rendered render(Path html) throws Exception {
    String chromium = chromium();
    Assumptions.assumeTrue(
        chromium != null, "optional oracle missing: chromium (apt-get install chromium)");
    Path png = tmp.resolve(html.getFileName() + "-" + System.nanoTime() + ".png");
    Path profile = Files.createTempDirectory(tmp, "chromium-profile");
    Path log = tmp.resolve(png.getFileName() + ".log");
    Process p =
        new ProcessBuilder(
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--user-data-dir=" + profile,
                "--enable-logging=stderr",
                "--v=0",
                "--hide-scrollbars",
                "--window-size=1000,3200",
                "--screenshot=" + png,
                html.toUri().toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), "chromium did not finish");
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
    List<String> console = out.lines().filter(l -> l.contains(":CONSOLE")).toList();
    return new Rendered(ImageIO.read(png.toFile()), console);
  }

  /**
   * Share of pixels that are not white, and the number of distinct colours, on a grid over the top
   * 1000 rows (where every report has its tables and first chart, whatever the length of the page).
   */
  static double[] ink(BufferedImage img) {
    long inked = 0;
    long all = 0;
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < Math.min(1000, img.getHeight()); y += 3) {
      for (int x = 0; x < img.getWidth(); x += 3) {
        int rgb = img.getRGB(x, y) & 0xFFFFFF;
        colours.add(rgb);
        all++;
        if (rgb != 0xFFFFFF) {
          inked++;
        }
      }
    }
    return new double[] {(double) inked / all, colours.size()};
  }

  @Test
  void chromiumRendersTheReportsWithoutConsoleErrors() throws Exception {
    // First, that the checks can fail: a page that logs an error is caught, and it counts as blank.
    Path bad =
        Files.writeString(
            tmp.resolve("bad.html"),
            "<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"></head><body><p>x</p>"
                + "<script>console.error('deliberate')</script></body></html>");
    Rendered control = render(bad);
    assertTrue(
        control.console().stream().anyMatch(l -> l.contains("deliberate")),
        "Chromium's console log is where this test looks");
    assertTrue(
        ink(control.screenshot())[0] < 0.03, "a nearly empty page is blank to the ink check");
    List<String> problems = new ArrayList<>();
    for (Path page : List.of(cleanHtml, tokenizeHtml, runHtml)) {
      Rendered r = render(page);
      if (!r.console().isEmpty()) {
        problems.add(page.getFileName() + ": " + r.console());
      }
      double[] ink = ink(r.screenshot());
      assertTrue(ink[0] > 0.03, page + ": only " + ink[0] + " of the screenshot is not white");
      assertTrue(ink[1] > 20, page + ": " + ink[1] + " colours, charts need more");
    }
    assertEquals(List.of(), problems);
  }
}
