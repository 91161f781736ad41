package org.colaedge.common.wire;

/**
 * A tensor on the wire broke one of the codec's rules. {@link #rule()} says which, the message says
 * how (naming the offending value), so a peer can be told exactly what it sent wrong.
 */
public final class MalformedTensorException extends RuntimeException {

    /** The rules a wire tensor must satisfy. */
    public enum Rule {
        /** dtype is DTYPE_UNSPECIFIED or a value this version does not know. */
        UNKNOWN_DTYPE,
        /** a dimension is negative. */
        NEGATIVE_DIMENSION,
        /** the element count or byte size does not fit in a long / an int-indexed buffer. */
        SIZE_OVERFLOW,
        /** the data length is not product(shape) * size(dtype). */
        DATA_LENGTH_MISMATCH,
        /** the tensor is larger than the configured maximum. */
        TOO_LARGE,
        /** the value cannot be represented in the requested dtype (e.g. above 65504 in FLOAT16). */
        NOT_REPRESENTABLE,
        /** the array's data type cannot be encoded (only floating point is carried). */
        UNSUPPORTED_ARRAY_TYPE
    }

    private final Rule rule;

    public MalformedTensorException(Rule rule, String message) {
        super(rule + ": " + message);
        this.rule = rule;
    }

    public Rule rule() {
        return rule;
    }
}
