package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.Outputs;
import io.sparkgpt.jobs.input.Doc;
import io.sparkgpt.jobs.input.DocReader;
import io.sparkgpt.jobs.input.Inputs;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;

/**
 * The clean job: {@link Steps#PIPELINE} (decode, the document-level steps, then the corpus-wide
 * ones), then the kept documents, the rejected ones and the report, all committed atomically at the
 * end.
 */
public final class CleanJob {
  public enum OutputFormat {
    PARQUET,
    JSONL
  }

  public record Options(
      List<String> inputs,
      String output,
      OutputFormat outputFormat,
      Inputs.Format inputFormat,
      DocReader.Options read,
      Set<String> skip,
      CleanConfig config,
      String report,
      String rejected,
      int partitions,
      boolean overwrite,
      List<String> decontaminate) {}

  public static final StructType KEPT_SCHEMA =
      new StructType()
          .add("id", DataTypes.StringType, false)
          .add("text", DataTypes.StringType, false)
          .add("source", DataTypes.StringType, false)
          .add("language", DataTypes.StringType, true)
          .add("content", DataTypes.StringType, false)
          .add(
              "metadata",
              DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType),
              false);

  public static final StructType REJECTED_SCHEMA =
      new StructType()
          .add("id", DataTypes.StringType, false)
          .add("source", DataTypes.StringType, false)
          .add("status", DataTypes.StringType, false)
          .add("step", DataTypes.StringType, false)
          .add("rule", DataTypes.StringType, false)
          .add("reason", DataTypes.StringType, false)
          .add("text", DataTypes.StringType, true)
          .add("raw_base64", DataTypes.StringType, true)
          .add(
              "metadata",
              DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType),
              false)
          .add("benchmark", DataTypes.StringType, true)
          .add("ngram", DataTypes.StringType, true);

  private CleanJob() {}

  public static CleanReport run(SparkSession spark, Options o, Consumer<String> phase)
      throws IOException {
    long start = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Outputs outputs = new Outputs(jsc.hadoopConfiguration(), o.overwrite());
    String rejectedTmp = o.rejected() == null ? null : outputs.claim(o.rejected(), "--rejected");
    String reportTmp = o.report() == null ? null : outputs.claim(o.report(), "--report");
    String htmlTmp = o.report() == null ? null : outputs.claim(htmlPath(o.report()), "--report");
    String outputTmp = outputs.claim(o.output(), "--output");
    try {
      List<Inputs.InputFile> files =
          Inputs.expand(jsc.hadoopConfiguration(), o.inputs(), o.inputFormat());
      int partitions =
          o.partitions() > 0 ? o.partitions() : Math.max(2, jsc.defaultParallelism() * 2);
      LongAccumulator[] stepNanos = new LongAccumulator[Steps.NAMES.size()];
      for (int i = 0; i < stepNanos.length; i++) {
        stepNanos[i] = jsc.sc().longAccumulator("step " + Steps.NAMES.get(i) + " ns");
      }
      PhaseClock clock = new PhaseClock(phase);
      Set<String> skip = new java.util.LinkedHashSet<>(o.skip());
      Decontamination decontamination = null;
      if (o.decontaminate().isEmpty()) {
        skip.add(Steps.DECONTAMINATE);
      } else if (!skip.contains(Steps.DECONTAMINATE)) {
        clock.start("reading eval sets");
        decontamination =
            Decontamination.prepare(
                jsc,
                o.config().decontaminate(),
                o.config().normalize().form(),
                Decontamination.evalFiles(jsc.hadoopConfiguration(), o.decontaminate()));
      }
      DocPipeline pipeline =
          new DocPipeline(
              o.config(),
              skip,
              stepNanos,
              decontamination == null ? null : decontamination.probe());

      clock.start("decode, normalize, filter, language, pii");
      JavaRDD<Doc> docs =
          DocReader.read(spark, files, o.read(), partitions)
              .map(pipeline::process)
              .persist(StorageLevel.MEMORY_AND_DISK_SER());
      docs.count(); // materialise, so that each phase is timed on its own
      List<JavaRDD<Doc>> cached = new ArrayList<>(List.of(docs));
      long[] verified = null;
      if (decontamination != null) {
        // Only the documents the probe marked are looked at again; the others pass through the map
        // untouched.
        clock.start("decontamination check");
        verified = decontamination.verify(jsc);
        Decontamination d = decontamination;
        docs = docs.map(d::resolve);
      }

      Map<String, Object> extra = new LinkedHashMap<>();
      Steps.CorpusContext ctx = new Steps.CorpusContext(o.config(), partitions, phase, extra);
      for (Steps.Entry step : Steps.PIPELINE) {
        if (step.kind() == Steps.Kind.CORPUS && !skip.contains(step.name())) {
          clock.start(step.name().replace('_', ' '));
          docs = step.corpus().apply(docs, ctx).persist(StorageLevel.MEMORY_AND_DISK_SER());
          docs.count();
          cached.add(docs);
        }
      }

      clock.start("counting");
      CleanReport.Counts counts =
          docs.treeAggregate(
              new CleanReport.Counts(), CleanReport.Counts::add, CleanReport.Counts::merge);
      for (int i = 0; i < cached.size() - 1; i++) {
        cached.get(i).unpersist(false);
      }

      clock.start("writing output");
      JavaRDD<Row> kept = docs.filter(Doc::kept).map(CleanJob::keptRow);
      var writer = spark.createDataFrame(kept, KEPT_SCHEMA).write().mode(SaveMode.Overwrite);
      if (o.outputFormat() == OutputFormat.PARQUET) {
        writer.parquet(outputTmp);
      } else {
        writer.json(outputTmp);
      }
      if (rejectedTmp != null) {
        // Cut documents are kept and also listed, with what was cut out of them.
        JavaRDD<Doc> listed =
            docs.filter(d -> !d.kept() || d.overlap() != null && d.overlap().cut());
        spark
            .createDataFrame(listed.map(CleanJob::rejectedRow), REJECTED_SCHEMA)
            .write()
            .mode(SaveMode.Overwrite)
            .json(rejectedTmp);
      }
      clock.stop();
      Map<String, Double> stepSeconds = new LinkedHashMap<>();
      for (int i = 1; i < stepNanos.length; i++) {
        if (stepNanos[i].value() > 0) {
          stepSeconds.put(Steps.NAMES.get(i), Math.round(stepNanos[i].value() / 1e7) / 100.0);
        }
      }
      if (decontamination != null) {
        extra.put("decontamination", decontamination.report(counts.benchmarks, verified));
      }
      extra.put("step_cpu_seconds", stepSeconds);
      extra.put("phase_seconds", clock.seconds());
      extra.put("partitions", partitions);
      extra.put("input_files", files.size());
      List<String> skipped = new ArrayList<>(skip);
      CleanReport report =
          new CleanReport(counts, extra, (System.nanoTime() - start) / 1e9, skipped);
      if (reportTmp != null) {
        outputs.writeString(reportTmp, report.toJson());
        outputs.writeString(
            htmlTmp, report.html("sparkgpt clean: " + String.join(", ", o.inputs())));
      }
      outputs.commit();
      cached.forEach(c -> c.unpersist(false));
      return report;
    } catch (RuntimeException | IOException e) {
      outputs.abort();
      throw e;
    }
  }

  /** The HTML report next to the JSON one: report.json gives report.html. */
  public static String htmlPath(String jsonReport) {
    return (jsonReport.endsWith(".json")
            ? jsonReport.substring(0, jsonReport.length() - 5)
            : jsonReport)
        + ".html";
  }

  /** Wall-clock time of each phase of the job, for the report. */
  static final class PhaseClock {
    private final Consumer<String> phase;
    private final Map<String, Double> seconds = new LinkedHashMap<>();
    private String current;
    private long start;

    PhaseClock(Consumer<String> phase) {
      this.phase = phase;
    }

    void start(String name) {
      stop();
      current = name;
      start = System.nanoTime();
      phase.accept(name);
    }

    void stop() {
      if (current != null) {
        seconds.put(current, Math.round((System.nanoTime() - start) / 1e7) / 100.0);
        current = null;
      }
    }

    Map<String, Double> seconds() {
      return seconds;
    }
  }

  static Row keptRow(Doc d) {
    return RowFactory.create(
        d.id(),
        d.text(),
        d.source(),
        d.language(),
        d.code() ? "code" : "prose",
        scalaMap(d.metadata()));
  }

  /**
   * A dropped document, or a kept one that decontamination cut (status "cut", text = what was cut
   * out).
   */
  static Row rejectedRow(Doc d) {
    Doc.Overlap o = d.overlap();
    if (d.kept()) {
      return RowFactory.create(
          d.id(),
          d.source(),
          "cut",
          Steps.DECONTAMINATE,
          "benchmark_overlap",
          "cut "
              + o.ngramsPerBenchmark().values().stream().mapToInt(Integer::intValue).sum()
              + " overlapping n-grams of "
              + String.join(", ", o.ngramsPerBenchmark().keySet()),
          o.removed(),
          null,
          scalaMap(d.metadata()),
          o.benchmark(),
          o.ngram());
    }
    return RowFactory.create(
        d.id(),
        d.source(),
        d.status().name().toLowerCase(Locale.ROOT),
        Steps.NAMES.get(d.droppedAt()),
        d.rule(),
        d.reason(),
        d.text(),
        d.raw() == null ? null : Base64.getEncoder().encodeToString(d.raw()),
        scalaMap(d.metadata()),
        o == null ? null : o.benchmark(),
        o == null ? null : o.ngram());
  }

  /** Spark's Row encoder takes Scala maps only. */
  static scala.collection.Map<String, String> scalaMap(Map<String, String> m) {
    return scala.collection.JavaConverters.mapAsScalaMap(m);
  }
}
