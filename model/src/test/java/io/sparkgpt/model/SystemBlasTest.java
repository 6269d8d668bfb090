package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The OpenBLAS choice: where the distribution's OpenBLAS is installed (CI installs it with
 * PyTorch), this JVM runs on it ({@link SystemBlasSession} chose it as the launcher does) and its
 * products are right; elsewhere the settings are empty and ND4J keeps its own build.
 */
class SystemBlasTest {

  @Test
  void runsTheSystemOpenBlasWhereInstalledAndItsProductsAreRight() throws Exception {
    Path soname = installedSoname();
    Map<String, String> p = SystemBlas.properties();
    // the session already set them, so properties() now defers to them (the user's choice)
    boolean installed = soname != null && !"bundled".equals(System.getProperty(SystemBlas.SWITCH));
    String chosen = System.getProperty("org.bytedeco.openblas.load");
    assertEquals(installed, chosen != null, "system OpenBLAS chosen exactly when installed");
    assertTrue(p.isEmpty(), "a chosen library is left as it is: " + p);
    // executors get this JVM's choice appended to their Java options, once
    String executor = SystemBlas.withChoice("-Xss4m");
    assertEquals(
        installed
            ? "-Xss4m -D"
                + SystemBlas.LOAD
                + "="
                + chosen
                + " -D"
                + SystemBlas.PRELOAD_PATH
                + "="
                + System.getProperty(SystemBlas.PRELOAD_PATH)
            : "-Xss4m",
        executor);
    assertEquals(executor, SystemBlas.withChoice(executor));
    assertEquals("-Dsparkgpt.blas=bundled", SystemBlas.withChoice("-Dsparkgpt.blas=bundled"));

    // a product the BLAS computes, against a double loop
    int m = 67, k = 129, n = 45;
    INDArray a = Nd4j.rand(DataType.DOUBLE, m, k), b = Nd4j.rand(DataType.DOUBLE, k, n);
    INDArray c = Nd4j.create(DataType.DOUBLE, m, n);
    Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    double[][] x = a.toDoubleMatrix(), y = b.toDoubleMatrix();
    for (int i = 0; i < m; i++) {
      double[] row = new double[n];
      for (int j = 0; j < n; j++) {
        for (int q = 0; q < k; q++) {
          row[j] += x[i][q] * y[q][j];
        }
      }
      assertArrayEquals(row, c.getRow(i).toDoubleVector(), 1e-10);
    }

    String loaded = SystemBlas.loaded();
    assertTrue(loaded.endsWith(installed ? ", system)" : ", bundled)"), loaded);
    if (installed) {
      // JavaCPP copied the distribution's build into its cache: the same size as the file
      long size = Files.size(soname.toRealPath());
      assertTrue(
          loaded.contains(String.format(java.util.Locale.ROOT, "%.1f MB", size / 1e6)), loaded);
    }
  }

  @Test
  void settingsNameTheInstalledLibraryAndItsFolderUnlessSwitchedOff() throws Exception {
    String load = System.clearProperty(SystemBlas.LOAD);
    String preload = System.clearProperty(SystemBlas.PRELOAD_PATH);
    try {
      Path soname = installedSoname();
      Map<String, String> p = SystemBlas.properties();
      if (soname != null) {
        Path file = soname.toRealPath(); // Debian: openblas-pthread/libopenblasp-r0.3.21.so
        String name = file.getFileName().toString();
        assertEquals(name.substring(3, name.length() - 3), p.get(SystemBlas.LOAD));
        assertEquals(file.getParent().toString(), p.get(SystemBlas.PRELOAD_PATH));
        assertEquals(
            "-D"
                + SystemBlas.LOAD
                + "="
                + p.get(SystemBlas.LOAD)
                + " -D"
                + SystemBlas.PRELOAD_PATH
                + "="
                + file.getParent(),
            SystemBlas.withChoice(null));
      } else {
        assertTrue(p.isEmpty(), p.toString());
        assertEquals("", SystemBlas.withChoice(null));
      }
      System.setProperty(SystemBlas.SWITCH, "bundeld");
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, SystemBlas::properties);
      assertEquals(
          "-Dsparkgpt.blas is 'system' (the default) or 'bundled', not 'bundeld'", e.getMessage());
      System.setProperty(SystemBlas.SWITCH, "system");
      assertEquals(p, SystemBlas.properties(), "'system' is the default");
      System.setProperty(SystemBlas.SWITCH, "bundled");
      assertTrue(SystemBlas.properties().isEmpty(), "-Dsparkgpt.blas=bundled keeps ND4J's own");
      System.clearProperty(SystemBlas.SWITCH);
      System.setProperty(SystemBlas.LOAD, "mkl_rt");
      assertTrue(SystemBlas.properties().isEmpty(), "a user's choice is left as it is");
    } finally {
      System.clearProperty(SystemBlas.SWITCH);
      restore(SystemBlas.LOAD, load);
      restore(SystemBlas.PRELOAD_PATH, preload);
    }
  }

  /** The first of the places {@link SystemBlas} looks in that holds the library, or null. */
  private static Path installedSoname() {
    return SystemBlas.SONAMES.stream().filter(Files::exists).findFirst().orElse(null);
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }
}
