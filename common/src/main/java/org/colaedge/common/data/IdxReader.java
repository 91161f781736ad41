package org.colaedge.common.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.colaedge.common.data.DataException.Kind;

/**
 * Reads a data set from the IDX files MNIST-style data sets are distributed in: an image file
 * ({@code *-images-idx3-ubyte}) and a label file ({@code *-labels-idx1-ubyte}), each optionally
 * gzip-compressed (recognised by content, not by name).
 *
 * <p>IDX, big-endian: two zero bytes, a data-type byte (0x08 = unsigned byte, the only one read
 * here), the number of dimensions, one int per dimension, then the values. An image file is
 * 0x00000803 + [n, rows, cols], a label file 0x00000801 + [n]. Everything is checked before use:
 * magic, data type, dimension count, positive sizes, that the file length is exactly header plus
 * data, that both files hold the same n, and that every label names a class. Any violation is a
 * {@link DataException} of kind {@link Kind#BAD_IDX} naming the file and what was found.
 */
public final class IdxReader {

    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;
    private static final int UNSIGNED_BYTE = 0x08;
    private static final Pattern IMAGE_SUFFIX = Pattern.compile("[-._]images?[-._]idx3[-._]ubyte$");

    private IdxReader() {
    }

    /**
     * Reads images and labels, naming the data set after the image file ("train-images-idx3-ubyte.gz"
     * gives "train") with classes "0".."9" (or up to the largest label if that is above 9).
     */
    public static ImageDataset read(Path images, Path labels) {
        return read(images, labels, defaultName(images), null);
    }

    /**
     * Reads images and labels.
     *
     * @param classNames one name per class, or null for "0".."9" (or up to the largest label)
     */
    public static ImageDataset read(Path images, Path labels, String name, List<String> classNames) {
        Idx img = parse(images, IMAGES_MAGIC, "image", "n, rows, cols");
        Idx lab = parse(labels, LABELS_MAGIC, "label", "n");
        int n = img.dims[0];
        int rows = img.dims[1];
        int cols = img.dims[2];
        if (rows < 1 || cols < 1) {
            throw bad(images, "has images of " + rows + "x" + cols + " pixels");
        }
        if (lab.dims[0] != n) {
            throw bad(labels, "holds " + lab.dims[0] + " labels but image file " + images + " holds " + n + " images");
        }
        int[] labelValues = new int[n];
        int maxLabel = 0;
        for (int i = 0; i < n; i++) {
            labelValues[i] = lab.data[lab.offset + i] & 0xFF;
            maxLabel = Math.max(maxLabel, labelValues[i]);
        }
        List<String> names = classNames != null ? classNames : ImageDataset.numberedClasses(Math.max(10, maxLabel + 1));
        for (int i = 0; i < n; i++) {
            if (labelValues[i] >= names.size()) {
                throw bad(labels, "gives sample " + i + " label " + labelValues[i] + ", but there are only " + names.size()
                        + " classes " + names);
            }
        }
        byte[] pixels = Arrays.copyOfRange(img.data, img.offset, img.data.length); // length checked: exactly n*rows*cols
        return ImageDataset.wrap(name, names, rows, cols, labelValues, pixels);
    }

    /** "train" for "train-images-idx3-ubyte(.gz)", otherwise the file name without ".gz". */
    static String defaultName(Path images) {
        String file = images.getFileName().toString();
        if (file.endsWith(".gz")) {
            file = file.substring(0, file.length() - 3);
        }
        String stripped = IMAGE_SUFFIX.matcher(file).replaceFirst("");
        return stripped.isEmpty() ? file : stripped;
    }

    /** The decoded header of one IDX file; the values start at data[offset]. */
    private record Idx(int[] dims, byte[] data, int offset) {
    }

    private static Idx parse(Path file, int magic, String what, String dimNames) {
        byte[] bytes = readMaybeGzip(file);
        int expectedDims = magic & 0xFF;
        if (bytes.length < 4) {
            throw bad(file, "is " + bytes.length + " bytes long, too short for an IDX header");
        }
        int found = ByteBuffer.wrap(bytes).getInt();
        if (found != magic) {
            String hint;
            if (found == IMAGES_MAGIC || found == LABELS_MAGIC) {
                hint = " (it is an IDX " + (found == IMAGES_MAGIC ? "image" : "label") + " file: images and labels swapped?)";
            } else if (bytes[0] != 0 || bytes[1] != 0) {
                hint = " (not an IDX file)";
            } else if (bytes[2] != UNSIGNED_BYTE) {
                hint = String.format(" (data type 0x%02X; only unsigned bytes, 0x08, are read)", bytes[2]);
            } else {
                hint = " (" + bytes[3] + " dimensions; an IDX " + what + " file has " + expectedDims + ": " + dimNames + ")";
            }
            throw bad(file, String.format("has magic number 0x%08X, expected 0x%08X for an IDX %s file%s", found, magic, what, hint));
        }
        int headerBytes = 4 + 4 * expectedDims;
        if (bytes.length < headerBytes) {
            throw bad(file, "is " + bytes.length + " bytes long, too short for its " + headerBytes + "-byte header");
        }
        ByteBuffer header = ByteBuffer.wrap(bytes, 4, headerBytes - 4);
        int[] dims = new int[expectedDims];
        long values = 1;
        for (int d = 0; d < expectedDims; d++) {
            dims[d] = header.getInt();
            if (dims[d] < 0) {
                throw bad(file, "has a negative size " + dims[d] + " in its header dimensions " + dimNames);
            }
            try {
                values = Math.multiplyExact(values, dims[d]);
            } catch (ArithmeticException e) {
                throw bad(file, "has header dimensions " + dimNames + " whose product overflows");
            }
        }
        long expectedLength = headerBytes + values;
        if (bytes.length < expectedLength) {
            throw bad(file, "is truncated: its header " + Arrays.toString(dims) + " (" + dimNames + ") needs " + expectedLength
                    + " bytes, the file has " + bytes.length);
        }
        if (bytes.length > expectedLength) {
            throw bad(file, "has " + (bytes.length - expectedLength) + " bytes beyond the " + expectedLength + " its header "
                    + Arrays.toString(dims) + " (" + dimNames + ") describes");
        }
        return new Idx(dims, bytes, headerBytes);
    }

    private static byte[] readMaybeGzip(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            if (bytes.length >= 2 && (bytes[0] & 0xFF) == 0x1F && (bytes[1] & 0xFF) == 0x8B) {
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes), 1 << 16)) {
                    return in.readAllBytes();
                } catch (IOException e) {
                    throw bad(file, "is gzip-compressed but does not decompress (" + e.getMessage() + "): truncated download?");
                }
            }
            return bytes;
        } catch (NoSuchFileException e) {
            throw new DataException(Kind.IO, "IDX file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new DataException(Kind.IO, "reading IDX file " + file + " failed: " + e, e);
        }
    }

    private static DataException bad(Path file, String what) {
        return new DataException(Kind.BAD_IDX, "IDX file " + file + " " + what);
    }
}
