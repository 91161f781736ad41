package org.colaedge.coordinator.snapshot;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.colaedge.common.wire.ChecksummedFile;
import org.colaedge.proto.v1.GroupSnapshot;
import org.colaedge.proto.v1.JobSnapshot;

/**
 * File-based snapshots of coordinator entities: one {@link ChecksummedFile} per entity
 * ({@code <dir>/jobs/<id>.snap}, magic "CEJS", a {@code colaedge.v1.JobSnapshot}; groups under
 * {@code groups/}, "CEGS", {@code GroupSnapshot}), replaced atomically (temporary file + move).
 * A file that cannot be read back (wrong magic, checksum, protobuf) is moved aside to
 * {@code <name>.corrupt} and reported as a {@link CorruptSnapshotException}; the caller starts
 * without it. Thread-safe: entities write only their own files.
 */
public final class SnapshotStore {

    /** What is stored: the folder, the magic and the message type. */
    public record Kind<T extends Message>(String folder, String magic, Parser<T> parser) { }

    public static final Kind<JobSnapshot> JOB = new Kind<>("jobs", "CEJS", JobSnapshot.parser());
    public static final Kind<GroupSnapshot> GROUP = new Kind<>("groups", "CEGS", GroupSnapshot.parser());

    private static final SnapshotStore OFF = new SnapshotStore(null);

    private final Path dir;

    private SnapshotStore(Path dir) {
        this.dir = dir;
    }

    /** A store in {@code dir}, or one that keeps nothing when {@code dir} is null. */
    public static SnapshotStore at(Path dir) {
        return dir == null ? OFF : new SnapshotStore(dir);
    }

    public boolean enabled() {
        return dir != null;
    }

    public Path file(Kind<?> kind, String id) {
        if (dir == null) {
            throw new IllegalStateException("snapshots are off");
        }
        return dir.resolve(kind.folder()).resolve(URLEncoder.encode(id, StandardCharsets.UTF_8) + ".snap");
    }

    /** Writes (replaces) the snapshot of {@code id}; no-op when off. */
    public void write(Kind<?> kind, String id, Message snapshot) throws IOException {
        if (dir != null) {
            ChecksummedFile.write(file(kind, id), kind.magic(), snapshot.toByteArray());
        }
    }

    /**
     * The snapshot of {@code id}, if there is one.
     *
     * @throws CorruptSnapshotException if there is one that cannot be read; it has been moved aside
     */
    public <T extends Message> Optional<T> read(Kind<T> kind, String id) {
        if (dir == null) {
            return Optional.empty();
        }
        Path f = file(kind, id);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(kind.parser().parseFrom(ChecksummedFile.read(f, kind.magic())));
        } catch (InvalidProtocolBufferException e) {
            throw setAside(kind, id, "its payload is not a " + kind.magic() + " snapshot: " + e.getMessage(), e);
        } catch (IOException e) {
            throw setAside(kind, id, e.getMessage(), e);
        }
    }

    /**
     * Moves the snapshot of {@code id} to {@code <name>.corrupt} (replacing an older one there) and
     * returns the exception to report, naming both files and {@code reason}. For files that read
     * back but do not fit (another job, shapes that do not match the spec).
     */
    public CorruptSnapshotException setAside(Kind<?> kind, String id, String reason, Throwable cause) {
        Path f = file(kind, id);
        Path aside = f.resolveSibling(f.getFileName() + ".corrupt");
        try {
            Files.move(f, aside, StandardCopyOption.REPLACE_EXISTING);
            return new CorruptSnapshotException(f, aside, reason, cause);
        } catch (IOException e) {
            CorruptSnapshotException ex = new CorruptSnapshotException(f, null, reason + "; moving it aside failed too: " + e, cause);
            ex.addSuppressed(e);
            return ex;
        }
    }

    /** A snapshot file that could not be used; {@link #movedTo()} is where it now lies (null if it could not be moved). */
    public static final class CorruptSnapshotException extends RuntimeException {

        private final transient Path movedTo;

        CorruptSnapshotException(Path file, Path movedTo, String reason, Throwable cause) {
            super("snapshot " + file + " is unusable (" + reason + ")" + (movedTo == null ? "" : "; moved to " + movedTo), cause);
            this.movedTo = movedTo;
        }

        public Path movedTo() {
            return movedTo;
        }
    }
}
