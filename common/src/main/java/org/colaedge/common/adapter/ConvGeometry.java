package org.colaedge.common.adapter;

/** Kernel, stride and zero padding of a 2-D convolution over NCHW inputs. */
public record ConvGeometry(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {

    public ConvGeometry {
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("conv kernel must be at least 1x1, was " + kernelH + "x" + kernelW);
        }
        if (strideH < 1 || strideW < 1) {
            throw new IllegalArgumentException("conv stride must be at least 1, was " + strideH + "x" + strideW);
        }
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("conv padding must be non-negative, was " + padH + "x" + padW);
        }
    }

    /** A square kernel with "same" padding for odd kernels at stride 1. */
    public static ConvGeometry square(int kernel, int stride, int pad) {
        return new ConvGeometry(kernel, kernel, stride, stride, pad, pad);
    }

    public long outHeight(long inHeight) {
        return (inHeight + 2L * padH - kernelH) / strideH + 1;
    }

    public long outWidth(long inWidth) {
        return (inWidth + 2L * padW - kernelW) / strideW + 1;
    }
}
