package org.colaedge.common.data;

/**
 * Why a record of a source data set was skipped instead of loaded. A record with several problems
 * gets exactly one reason: {@link #EMPTY} or {@link #WRONG_LENGTH} if its length is wrong,
 * otherwise the problem of its first bad value.
 */
public enum SkipReason {
    /** the record is an empty list (Fashion-MNIST 1.1.0 holds two of these in class 0). */
    EMPTY("empty"),
    /** the record has neither 0 nor rows*cols values. */
    WRONG_LENGTH("wrong length"),
    /** a list-of-images source holds something other than a list where an image should be. */
    NOT_A_LIST("not a list"),
    /** a value is a string, boolean, null, list or object instead of a number. */
    NON_NUMERIC("non-numeric"),
    /** a value of a 0..255 source has a fractional part. */
    NON_INTEGER("non-integer"),
    /** a value is outside 0..255 (byte sources) or 0..1 (unit-scaled sources). */
    OUT_OF_RANGE("out of range"),
    /**
     * the record sits in a flat list whose length is not a multiple of rows*cols: a value is
     * missing or extra somewhere, so no image of that list can be trusted to be aligned.
     */
    MISALIGNED("misaligned flat list");

    private final String label;

    SkipReason(String label) {
        this.label = label;
    }

    /** Short lower-case description used in reports, e.g. "empty". */
    public String label() {
        return label;
    }
}
