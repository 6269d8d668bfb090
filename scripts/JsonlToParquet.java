import org.apache.spark.sql.SparkSession;

/**
 * The benchmark corpus as Parquet, the form `clean` writes by default: columns text and source of JSONL files,
 * same documents in the same order (one Parquet file per input split). Run with Java's source launcher on the
 * jobs classpath (scripts/bench-tokenize.sh does).
 *
 * <p>usage: JsonlToParquet OUT_DIR FILE.jsonl...
 */
public final class JsonlToParquet {
  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().master("local[1]").appName("jsonl-to-parquet")
        .config("spark.ui.enabled", "false").getOrCreate();
    String[] inputs = java.util.Arrays.copyOfRange(args, 1, args.length);
    spark.read().schema("text STRING, source STRING").json(inputs).write().parquet(args[0]);
    spark.stop();
  }
}
