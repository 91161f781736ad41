package org.colaedge.common.verify;

/**
 * One verification result: the largest absolute and relative deviation between two independent
 * computations, and whether the relative one is within tolerance. Relative error is
 * max|a - b| / max|b| over all compared elements (robust to individual near-zero entries).
 */
public record Check(String adapterKind, String check, double maxAbsError, double maxRelError, double tolerance, String detail) {

    public boolean passed() {
        return Double.isFinite(maxRelError) && maxRelError <= tolerance;
    }
}
