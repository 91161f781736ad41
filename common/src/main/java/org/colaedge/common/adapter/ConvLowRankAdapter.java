package org.colaedge.common.adapter;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.convolution.Convolution;

/**
 * Low-rank adapter of a conv2d layer (NCHW): a k x k convolution from C_in to r channels with the
 * base layer's stride and padding (A: [r, C_in, kH, kW], Kaiming-uniform), then a 1x1 convolution
 * from r to C_out channels (B: [C_out, r], zero), scaled by alpha. Merged into the base kernel as
 * K + alpha * dK with dK[o, i, y, x] = sum_r B[o, r] A[r, i, y, x].
 *
 * <p>Implemented as im2col + two matrix products, so forward and J^T delta are plain linear
 * algebra: with C = im2col(x) reshaped to [N*oH*oW, C_in*kH*kW], u = C A^T, y = alpha u B^T.
 */
public final class ConvLowRankAdapter extends Adapter {

    private final ConvGeometry g;

    ConvLowRankAdapter(AdapterSpec spec, boolean initialise) {
        super(spec, shapes(spec));
        this.g = spec.conv();
        if (initialise) {
            long fanIn = spec.inFeatures() * g.kernelH() * g.kernelW();
            fillUniform(param("A"), kaimingBound(fanIn), new SplittableRandom(spec.seed()));
        }
    }

    private static LinkedHashMap<String, long[]> shapes(AdapterSpec spec) {
        ConvGeometry g = spec.conv();
        LinkedHashMap<String, long[]> s = new LinkedHashMap<>();
        s.put("A", new long[] {spec.rank(), spec.inFeatures(), g.kernelH(), g.kernelW()});
        s.put("B", new long[] {spec.outFeatures(), spec.rank()});
        return s;
    }

    @Override
    protected void checkInput(INDArray x) {
        if (x.rank() != 4 || x.size(1) != spec().inFeatures()) {
            throw new IllegalArgumentException("layer " + layer() + ": conv adapter input x must have shape [N, "
                    + spec().inFeatures() + ", H, W], was " + Arrays.toString(x.shape()));
        }
        if (g.outHeight(x.size(2)) < 1 || g.outWidth(x.size(3)) < 1) {
            throw new IllegalArgumentException("layer " + layer() + ": input " + Arrays.toString(x.shape())
                    + " is smaller than the " + g.kernelH() + "x" + g.kernelW() + " kernel");
        }
    }

    @Override
    protected void checkDelta(INDArray x, INDArray delta) {
        long[] expected = {x.size(0), spec().outFeatures(), g.outHeight(x.size(2)), g.outWidth(x.size(3))};
        if (!Arrays.equals(delta.shape(), expected)) {
            throw new IllegalArgumentException("layer " + layer() + ": hidden gradient delta must have shape "
                    + Arrays.toString(expected) + ", was " + Arrays.toString(delta.shape()));
        }
    }

    @Override
    protected INDArray doForward(INDArray x) {
        long n = x.size(0);
        long oh = g.outHeight(x.size(2));
        long ow = g.outWidth(x.size(3));
        INDArray u = columns(x).mmul(aMatrix().transpose());       // [M, r]
        INDArray y = u.mmul(param("B").transpose()).muli(spec().scaling()); // [M, C_out]
        return y.reshape('c', n, oh, ow, spec().outFeatures()).permute(0, 3, 1, 2).dup('c');
    }

    @Override
    protected void doGradient(INDArray x, INDArray delta, Map<String, INDArray> out) {
        float s = spec().scaling();
        INDArray cols = columns(x);                                   // [M, C_in*kH*kW]
        INDArray d = delta.permute(0, 2, 3, 1).dup('c').reshape('c', cols.size(0), spec().outFeatures()); // [M, C_out]
        INDArray u = cols.mmul(aMatrix().transpose());               // [M, r]
        out.get("B").assign(d.transpose().mmul(u)).muli(s);         // [C_out, r]
        INDArray back = d.mmul(param("B"));                          // [M, r]
        INDArray gA = back.transpose().mmul(cols).muli(s);           // [r, C_in*kH*kW]
        out.get("A").assign(gA.reshape('c', param("A").shape()));
    }

    @Override
    public INDArray deltaWeight() {
        INDArray dk = param("B").mmul(aMatrix());                   // [C_out, C_in*kH*kW]
        return dk.reshape('c', spec().outFeatures(), spec().inFeatures(), g.kernelH(), g.kernelW());
    }

    private INDArray aMatrix() {
        INDArray a = param("A");
        return a.reshape('c', a.size(0), a.length() / a.size(0));
    }

    /** im2col as a matrix: one row per output position (n, y, x), one column per (c, ky, kx). */
    private INDArray columns(INDArray x) {
        INDArray cols = Convolution.im2col(x, g.kernelH(), g.kernelW(), g.strideH(), g.strideW(), g.padH(), g.padW(), false);
        long n = cols.size(0);
        long oh = cols.size(4);
        long ow = cols.size(5);
        return cols.permute(0, 4, 5, 1, 2, 3).dup('c').reshape('c', n * oh * ow, cols.size(1) * cols.size(2) * cols.size(3));
    }
}
