package org.colaedge.common.data;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Builds real npm-style tarballs (.tgz) and the JSON inside them for the tests. */
final class TestTarballs {

    private TestTarballs() {
    }

    /** Writes a gzip-compressed tar holding {@code entries} (name to UTF-8 text), in insertion order. */
    static Path tgz(Path file, Map<String, String> entries) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file));
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            for (Map.Entry<String, String> e : entries.entrySet()) {
                byte[] bytes = e.getValue().getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
                entry.setSize(bytes.length);
                tar.putArchiveEntry(entry);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        return file;
    }

    /** A package with the usual non-data files plus one class file per entry of {@code classFiles}. */
    static Map<String, String> npmPackage(String classDirectory, Map<Integer, String> classFiles) {
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("package/package.json", "{\"name\": \"test\", \"version\": \"1.0.0\"}");
        entries.put("package/README.md", "# test");
        classFiles.forEach((c, json) -> entries.put(classDirectory + c + ".json", json));
        return entries;
    }

    /** The byte a test image holds at pixel p of image "seed": a pattern that differs per image and position. */
    static int pattern(int seed, int p) {
        return (seed * 31 + p * 7) % 256;
    }

    /** A 0..255 integer list of {@code d} pattern values: {@code [v, v, ...]}. */
    static String byteList(int seed, int d) {
        StringBuilder sb = new StringBuilder("[");
        for (int p = 0; p < d; p++) {
            sb.append(p == 0 ? "" : ",").append(pattern(seed, p));
        }
        return sb.append(']').toString();
    }

    /** The same values as {@link #byteList}, as pixel/255 rounded to 3 places, without brackets (for flat lists). */
    static String unitValues(int seed, int d) {
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < d; p++) {
            sb.append(p == 0 ? "" : ",").append(unit(pattern(seed, p)));
        }
        return sb.toString();
    }

    /** b/255 rounded to 3 places, written like the mnist package does (0 and 1 as integers). */
    static String unit(int b) {
        if (b == 0) {
            return "0";
        }
        if (b == 255) {
            return "1";
        }
        return new BigDecimal(b / 255.0).setScale(3, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
    }

    /** {"data": [items joined by commas]}. */
    static String dataFile(String... items) {
        return "{\"data\": [" + String.join(",", items) + "]}";
    }
}
