package org.colaedge.common.wire;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * A small file format for local state: 4-byte magic, SHA-256 of the payload, payload. Written to a
 * temporary file and moved into place, so a crash mid-write leaves the previous file intact; read
 * back only if magic and checksum match, else an IOException says what is wrong.
 */
public final class ChecksummedFile {

    private ChecksummedFile() {
    }

    public static void write(Path file, String magic, byte[] payload) throws IOException {
        byte[] m = magic(magic);
        byte[] out = new byte[m.length + 32 + payload.length];
        System.arraycopy(m, 0, out, 0, m.length);
        System.arraycopy(sha256(payload), 0, out, m.length, 32);
        System.arraycopy(payload, 0, out, m.length + 32, payload.length);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, out);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static byte[] read(Path file, String magic) throws IOException {
        byte[] m = magic(magic);
        byte[] all = Files.readAllBytes(file);
        if (all.length < m.length + 32 || !Arrays.equals(Arrays.copyOf(all, m.length), m)) {
            throw new IOException(file + " is not a " + magic + " file (wrong magic or too short)");
        }
        byte[] payload = Arrays.copyOfRange(all, m.length + 32, all.length);
        if (!Arrays.equals(sha256(payload), Arrays.copyOfRange(all, m.length, m.length + 32))) {
            throw new IOException(file + " is corrupt: its SHA-256 does not match (truncated or modified)");
        }
        return payload;
    }

    private static byte[] magic(String magic) {
        byte[] m = magic.getBytes(StandardCharsets.US_ASCII);
        if (m.length != 4) {
            throw new IllegalArgumentException("magic must be 4 ASCII characters, was '" + magic + "'");
        }
        return m;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
