package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Megatron .bin/.idx against the published layout, read by an independent parser and by numpy as
 * Megatron does.
 */
class MegatronFormatTest {
  @TempDir Path tmp;

  /** The .idx layout of Megatron-LM's _IndexWriter, parsed here without the production code. */
  record Idx(int code, long[] lengths, long[] pointers, long[] docIdx, long fileBytes) {
    static Idx parse(Path p) throws IOException {
      ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
      byte[] magic = new byte[9];
      b.get(magic);
      assertArrayEquals(new byte[] {'M', 'M', 'I', 'D', 'I', 'D', 'X', 0, 0}, magic);
      assertEquals(1L, b.getLong(), "version <Q");
      int code = b.get() & 0xFF;
      long seqs = b.getLong();
      long docs = b.getLong();
      long[] lengths = new long[(int) seqs];
      for (int i = 0; i < seqs; i++) {
        lengths[i] = b.getInt();
      }
      long[] pointers = new long[(int) seqs];
      for (int i = 0; i < seqs; i++) {
        pointers[i] = b.getLong();
      }
      long[] docIdx = new long[(int) docs];
      for (int i = 0; i < docs; i++) {
        docIdx[i] = b.getLong();
      }
      assertEquals(0, b.remaining(), "nothing after the document indices");
      return new Idx(code, lengths, pointers, docIdx, b.capacity());
    }
  }

  private void checkLayout(
      Path dir, Tokenizer tok, MiniJob job, List<TestDocs.Doc> docs, Manifest m, int code)
      throws IOException {
    Map<String, List<List<TestDocs.Doc>>> plan = job.plan(docs);
    int width = code == 8 ? 2 : 4;
    for (Map.Entry<String, Manifest.Split> e : m.splits().entrySet()) {
      for (int k = 0; k < e.getValue().shards().size(); k++) {
        Manifest.Shard sh = e.getValue().shards().get(k);
        Idx idx = Idx.parse(dir.resolve(sh.idxFile()));
        int[] bin = TestDocs.rawTokens(dir.resolve(sh.file()), m.dtype());
        assertEquals(code, idx.code());
        List<TestDocs.Doc> expected = new ArrayList<>(plan.get(e.getKey()).get(k));
        expected.removeIf(d -> d.text().isEmpty());
        int n = expected.size();
        assertEquals(n, idx.lengths().length);
        assertEquals(n + 1, idx.docIdx().length);
        long pointer = 0;
        for (int i = 0; i < n; i++) {
          int[] ids = TestDocs.encode(tok, expected.get(i));
          assertEquals(ids.length + 1, idx.lengths()[i]);
          assertEquals(pointer, idx.pointers()[i]);
          int from = (int) (pointer / width);
          assertArrayEquals(ids, Arrays.copyOfRange(bin, from, from + ids.length));
          assertEquals(m.eotId(), bin[from + ids.length]);
          pointer += idx.lengths()[i] * width;
          assertEquals(i, idx.docIdx()[i]);
        }
        assertEquals(n, idx.docIdx()[n]);
        assertEquals(pointer, Files.size(dir.resolve(sh.file())));
        assertEquals(sh.idxBytes(), idx.fileBytes());
      }
    }
  }

  @Test
  void uint16LayoutAndNumpyReader() throws IOException, InterruptedException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    MiniJob job = new MiniJob(tok, "r50k_base");
    job.format = Format.MEGATRON;
    List<TestDocs.Doc> docs = TestDocs.mixed().subList(0, 1200);
    Manifest m = job.run(DatasetFiles.local(tmp), docs);
    assertEquals(Dtype.UINT16, m.dtype());
    checkLayout(tmp, tok, job, docs, m, 8);
    NativeDatasetTest.checkRoundTrip(tmp, tok, job, docs, m);
    NativeDatasetTest.checkManifestAgainstFiles(tmp, tok, docs, m);
    NativeDatasetTest.checkSamples(tmp, m);
    numpyCheck(tmp, m, tok, job.plan(docs));
  }

  @Test
  void int32Layout() throws IOException, InterruptedException {
    Tokenizer tok = Tokenizers.load("cl100k_base");
    MiniJob job = new MiniJob(tok, "cl100k_base");
    job.format = Format.MEGATRON;
    job.trainShards = 2;
    List<TestDocs.Doc> docs = TestDocs.chinese().subList(0, 400);
    Manifest m = job.run(DatasetFiles.local(tmp), docs);
    assertEquals(Dtype.INT32, m.dtype());
    checkLayout(tmp, tok, job, docs, m, 4);
    NativeDatasetTest.checkSamples(tmp, m);
    numpyCheck(tmp, m, tok, job.plan(docs));
  }

  @Test
  void damagedIndexIsRefused() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    MiniJob job = new MiniJob(tok, "r50k_base");
    job.format = Format.MEGATRON;
    job.run(DatasetFiles.local(tmp), TestDocs.mixed().subList(0, 300));
    Path idx = tmp.resolve("train-00000.idx");
    byte[] b = Files.readAllBytes(idx);
    b[MegatronIndex.HEADER_BYTES] += 1; // first sequence one token longer
    Files.write(idx, b);
    InvalidDatasetException e =
        assertThrows(InvalidDatasetException.class, () -> TokenDataset.open(tmp, true));
    assertTrue(e.getMessage().contains("index train-00000.idx: sha256 mismatch"), e.getMessage());
    e = assertThrows(InvalidDatasetException.class, () -> TokenDataset.open(tmp, false));
    assertTrue(
        e.getMessage()
            .contains("index train-00000.idx: sequence 1 does not start where sequence 0 ends"),
        e.getMessage());
  }

  /** Megatron-LM's _IndexReader and _MMapBinReader, reduced to their numpy calls. */
  private static final String READER =
      String.join(
          "\n",
          "import json, struct, sys, numpy",
          "DTYPES = {1: numpy.uint8, 2: numpy.int8, 3: numpy.int16, 4: numpy.int32, 5: numpy.int64,",
          "          6: numpy.float64, 7: numpy.float32, 8: numpy.uint16}",
          "out = {}",
          "for prefix in sys.argv[1:]:",
          "    idx_path = prefix + '.idx'",
          "    with open(idx_path, 'rb') as stream:",
          "        assert stream.read(9) == b'MMIDIDX\\x00\\x00', 'bad header'",
          "        assert struct.unpack('<Q', stream.read(8))[0] == 1, 'bad version'",
          "        dtype = DTYPES[struct.unpack('<B', stream.read(1))[0]]",
          "        sequence_count = struct.unpack('<Q', stream.read(8))[0]",
          "        document_count = struct.unpack('<Q', stream.read(8))[0]",
          "        offset = stream.tell()",
          "    buf = memoryview(numpy.memmap(idx_path, mode='r', order='C'))",
          "    lengths = numpy.frombuffer(buf, dtype=numpy.int32, count=sequence_count, offset=offset)",
          "    pointers = numpy.frombuffer(buf, dtype=numpy.int64, count=sequence_count, offset=offset + lengths.nbytes)",
          "    docs = numpy.frombuffer(buf, dtype=numpy.int64, count=document_count,",
          "                            offset=offset + lengths.nbytes + pointers.nbytes)",
          "    bin_buffer = memoryview(numpy.memmap(prefix + '.bin', mode='r', order='C').data)",
          "    seqs = [numpy.frombuffer(bin_buffer, dtype=dtype, count=int(lengths[i]), offset=int(pointers[i])).tolist()",
          "            for i in range(sequence_count)]",
          "    out[prefix] = {'dtype': dtype.__name__, 'documents': docs.tolist(), 'sequences': seqs}",
          "json.dump(out, sys.stdout)");

  private static void numpyCheck(
      Path dir, Manifest m, Tokenizer tok, Map<String, List<List<TestDocs.Doc>>> plan)
      throws IOException, InterruptedException {
    Assumptions.assumeTrue(
        hasNumpy(), "optional oracle missing: python3 with numpy (apt-get install python3-numpy)");
    List<String> cmd = new ArrayList<>(List.of("python3", "-c", READER));
    for (Manifest.Shard s : m.allShards()) {
      cmd.add(dir.resolve(s.file().substring(0, s.file().length() - 4)).toString());
    }
    Path out = dir.resolve("numpy.json");
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue());
    JsonNode root = Manifest.JSON.readTree(out.toFile());
    for (Map.Entry<String, Manifest.Split> e : m.splits().entrySet()) {
      for (int k = 0; k < e.getValue().shards().size(); k++) {
        String file = e.getValue().shards().get(k).file();
        JsonNode r = root.get(dir.resolve(file.substring(0, file.length() - 4)).toString());
        assertEquals(m.dtype() == Dtype.UINT16 ? "uint16" : "int32", r.get("dtype").asText());
        List<TestDocs.Doc> expected = new ArrayList<>(plan.get(e.getKey()).get(k));
        expected.removeIf(d -> d.text().isEmpty());
        assertEquals(expected.size(), r.get("sequences").size());
        assertEquals(expected.size() + 1, r.get("documents").size());
        for (int i = 0; i < expected.size(); i++) {
          JsonNode seq = r.get("sequences").get(i);
          int[] ids = new int[seq.size()];
          for (int t = 0; t < ids.length; t++) {
            ids[t] = seq.get(t).asInt();
          }
          assertEquals(m.eotId(), ids[ids.length - 1]);
          assertEquals(expected.get(i).text(), tok.decode(Arrays.copyOf(ids, ids.length - 1)));
          assertEquals(i, r.get("documents").get(i).asInt());
        }
      }
    }
  }

  private static boolean hasNumpy() {
    try {
      Process p =
          new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
