package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.colaedge.common.data.DataException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

    @TempDir
    Path dir;

    /** IDX bytes: magic, dims, then data. */
    private static byte[] idx(int magic, int[] dims, byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(magic);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
        }
        return bytes.toByteArray();
    }

    /** 3 images of 4x5, pixel p of image i = 50*i + p, except image 2: 236 + p (its last pixel is 255). */
    private static byte[] imageData() {
        byte[] px = new byte[3 * 20];
        for (int i = 0; i < 3; i++) {
            for (int p = 0; p < 20; p++) {
                px[i * 20 + p] = (byte) (i == 2 ? 236 + p : 50 * i + p);
            }
        }
        return px;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private Path writeGz(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(bytes);
        }
        return file;
    }

    private Path images() throws IOException {
        return write("train-images-idx3-ubyte", idx(0x803, new int[] {3, 4, 5}, imageData()));
    }

    private Path labels() throws IOException {
        return write("train-labels-idx1-ubyte", idx(0x801, new int[] {3}, new byte[] {7, 0, 9}));
    }

    @Test
    void readsPlainAndGzipFilesWithPixelsInPlace() throws IOException {
        ImageDataset plain = Datasets.fromIdx(images(), labels());
        assertThat(plain.name()).isEqualTo("train");
        assertThat(plain.size()).isEqualTo(3);
        assertThat(plain.rows()).isEqualTo(4);
        assertThat(plain.cols()).isEqualTo(5);
        assertThat(plain.labels()).containsExactly(7, 0, 9);
        assertThat(plain.classes()).isEqualTo(10);
        assertThat(plain.pixel(1, 2, 3)).isEqualTo(50 + 13);
        assertThat(plain.pixel(2, 3, 4)).isEqualTo(255);

        Path gzImages = writeGz("t10k-images-idx3-ubyte.gz", idx(0x803, new int[] {3, 4, 5}, imageData()));
        Path gzLabels = writeGz("t10k-labels-idx1-ubyte.gz", idx(0x801, new int[] {3}, new byte[] {7, 0, 9}));
        ImageDataset gz = IdxReader.read(gzImages, gzLabels, "train", null);
        assertThat(gz).isEqualTo(plain);
        assertThat(IdxReader.defaultName(gzImages)).isEqualTo("t10k");

        ImageDataset named = IdxReader.read(images(), labels(), "x", ImageDataset.numberedClasses(12));
        assertThat(named.classes()).isEqualTo(12);
    }

    @Test
    void badMagicNumbersAreExplained() throws IOException {
        assertBad(write("a", idx(0x12345678, new int[] {3, 4, 5}, imageData())), labels(),
                "has magic number 0x12345678, expected 0x00000803 for an IDX image file (not an IDX file)");
        assertBad(labels(), images(), "expected 0x00000803 for an IDX image file (it is an IDX label file: images and labels swapped?)");
        assertBad(write("f", idx(0x0D03, new int[] {3, 4, 5}, new byte[240])), labels(),
                "(data type 0x0D; only unsigned bytes, 0x08, are read)");
        assertBad(write("d", idx(0x802, new int[] {3, 20}, imageData())), labels(), "(2 dimensions; an IDX image file has 3");
    }

    @Test
    void shortLongAndInconsistentFilesAreRejected() throws IOException {
        byte[] whole = idx(0x803, new int[] {3, 4, 5}, imageData());
        assertBad(write("s", Arrays.copyOf(whole, whole.length - 1)), labels(),
                "is truncated: its header [3, 4, 5] (n, rows, cols) needs 76 bytes, the file has 75");
        assertBad(write("h", Arrays.copyOf(whole, 10)), labels(), "is 10 bytes long, too short for its 16-byte header");
        assertBad(write("e", new byte[2]), labels(), "is 2 bytes long, too short for an IDX header");
        assertBad(write("l", Arrays.copyOf(whole, whole.length + 3)), labels(), "has 3 bytes beyond the 76 its header");
        assertBad(images(), write("n", idx(0x801, new int[] {2}, new byte[] {1, 2})), "holds 2 labels but image file");
        assertBad(write("neg", idx(0x803, new int[] {3, -4, 5}, imageData())), labels(), "has a negative size -4");

        byte[] gz = Files.readAllBytes(writeGz("g.gz", whole));
        assertBad(write("tg.gz", Arrays.copyOf(gz, gz.length / 2)), labels(), "is gzip-compressed but does not decompress");

        assertThatThrownBy(() -> IdxReader.read(images(), labels(), "x", List.of("a", "b")))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.BAD_IDX))
                .hasMessageContaining("gives sample 0 label 7, but there are only 2 classes");
        assertThatThrownBy(() -> IdxReader.read(dir.resolve("missing"), labels()))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.IO))
                .hasMessageContaining("does not exist");
    }

    private static void assertBad(Path images, Path labels, String messagePart) {
        assertThatThrownBy(() -> IdxReader.read(images, labels))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.BAD_IDX))
                .hasMessageContaining(messagePart);
    }
}
