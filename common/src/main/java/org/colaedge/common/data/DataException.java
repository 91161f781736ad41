package org.colaedge.common.data;

/**
 * A data set could not be fetched, read or trusted. {@link #kind()} says which step failed; the
 * message says what was wrong (naming the file, entry or value) and, where there is one, what to do
 * about it. I/O failures are wrapped in this exception so callers never see a bare
 * {@link java.io.IOException} without that context.
 */
public final class DataException extends RuntimeException {

    /** What went wrong. */
    public enum Kind {
        /** the npm client is not installed or not on PATH. */
        NPM_NOT_FOUND,
        /** npm ran but did not deliver the expected tarball (exit status, timeout, checksum). */
        FETCH_FAILED,
        /** a source tarball or its JSON is broken beyond skipping single records. */
        MALFORMED_SOURCE,
        /** a local cache file is truncated, corrupt or of an unknown format. */
        CORRUPT_CACHE,
        /** an IDX file has a bad magic number, dimensions or length. */
        BAD_IDX,
        /** reading or writing a file failed. */
        IO
    }

    private final Kind kind;

    public DataException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public DataException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
