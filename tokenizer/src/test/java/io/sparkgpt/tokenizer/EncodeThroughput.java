package io.sparkgpt.tokenizer;

import com.knuddels.jtokkit.api.Encoding;

import java.util.Arrays;
import java.util.List;

/**
 * A rough single-threaded throughput check against jtokkit (not a test, not a JMH benchmark): encodes the
 * whole corpus a few times with each and prints MB/s. Run with {@code -Dsparkgpt.corpus=...}.
 */
public final class EncodeThroughput {
    public static void main(String[] args) {
        List<String> docs = Corpus.allDocuments();
        long bytes = Corpus.utf8Bytes(docs);
        for (String name : List.of("r50k_base", "cl100k_base")) {
            Encoding jtokkit = TiktokenOracleTest.jtokkit(name);
            ByteLevelBpe ours = (ByteLevelBpe) Tokenizers.load(name);
            IntArray out = new IntArray();
            for (String d : docs) { // identical output, and warm-up
                out.clear();
                ours.encode(d, out);
                if (!Arrays.equals(out.toArray(), jtokkit.encodeOrdinary(d).toArray())) {
                    throw new AssertionError("outputs differ");
                }
            }
            for (int round = 0; round < 3; round++) {
                long t0 = System.nanoTime();
                long n = 0;
                for (String d : docs) {
                    out.clear();
                    n += ours.encode(d, out);
                }
                long t1 = System.nanoTime();
                long m = 0;
                for (String d : docs) {
                    m += jtokkit.encodeOrdinary(d).size();
                }
                long t2 = System.nanoTime();
                System.out.printf("%s round %d: ours %.1f MB/s, jtokkit %.1f MB/s, speedup %.2fx (%d tokens)%n", name, round,
                        bytes / ((t1 - t0) / 1e3), bytes / ((t2 - t1) / 1e3), (double) (t2 - t1) / (t1 - t0), n);
                if (n != m) {
                    throw new AssertionError();
                }
            }
        }
    }
}
