package org.colaedge.common.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.colaedge.common.wire.MalformedTensorException.Rule;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class TensorCodecTest {

    private final TensorCodec codec = new TensorCodec();

    @Test
    void float32IsRawLittleEndianRowMajor() {
        INDArray a = Nd4j.createFromArray(new float[][] {{1f, -2f}, {0.5f, Float.MIN_VALUE}});
        Tensor t = codec.encode(a);
        assertThat(t.getDtype()).isEqualTo(DType.FLOAT32);
        assertThat(t.getShapeList()).containsExactly(2L, 2L);
        ByteBuffer expected = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        expected.putFloat(1f).putFloat(-2f).putFloat(0.5f).putFloat(Float.MIN_VALUE);
        assertThat(t.getData().toByteArray()).isEqualTo(expected.array());
        // 1.0f is 0x3F800000: little-endian bytes 00 00 80 3F.
        assertThat(Arrays.copyOf(t.getData().toByteArray(), 4)).containsExactly(0, 0, 0x80, 0x3F);
    }

    @Test
    void float32RoundTripIsBitExactOverManyRandomShapes() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            int rank = rng.nextInt(0, 5);
            long[] shape = new long[rank];
            for (int d = 0; d < rank; d++) {
                // about one shape in six has a zero-sized dimension
                shape[d] = rng.nextInt(6) == 0 ? 0 : rng.nextInt(1, 7);
            }
            INDArray a = randomBits(rng, shape);
            INDArray back = codec.decode(roundTripBytes(codec.encode(a)));
            assertThat(back.shape()).as("shape of trial %d", trial).isEqualTo(shape);
            assertThat(back.dataType()).isEqualTo(DataType.FLOAT);
            assertThat(bits(back)).as("bits of trial %d %s", trial, Arrays.toString(shape)).isEqualTo(bits(a));
        }
    }

    @Test
    void scalarsViewsAndColumnMajorArraysEncodeTheirLogicalValues() {
        INDArray scalar = Nd4j.scalar(3.25f);
        Tensor st = codec.encode(scalar);
        assertThat(st.getShapeCount()).isZero();
        assertThat(codec.decode(st).getFloat(0)).isEqualTo(3.25f);

        INDArray base = Nd4j.arange(0, 24).castTo(DataType.FLOAT).reshape('c', 4, 6);
        INDArray view = base.get(NDArrayIndex.interval(1, 3), NDArrayIndex.interval(2, 5));
        assertThat(codec.decode(codec.encode(view))).isEqualTo(view.dup('c'));

        INDArray fOrder = base.dup('f');
        assertThat(codec.decode(codec.encode(fOrder))).isEqualTo(base);
        INDArray transposed = base.transpose();
        assertThat(codec.decode(codec.encode(transposed))).isEqualTo(transposed.dup('c'));

        INDArray doubles = base.castTo(DataType.DOUBLE);
        assertThat(codec.decode(codec.encode(doubles))).isEqualTo(base);
    }

    @Test
    void nonFiniteValuesSurviveFloat32() {
        INDArray a = Nd4j.createFromArray(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f);
        assertThat(bits(codec.decode(codec.encode(a)))).isEqualTo(bits(a));
    }

    /** FLOAT16: round to nearest even, relative error <= 2^-11 for normal values (|x| in [2^-14, 65504]). */
    @Test
    void float16ErrorIsWithinHalfAnUlp() {
        SplittableRandom rng = new SplittableRandom(11);
        float[] v = new float[20_000];
        for (int i = 0; i < v.length; i++) {
            double magnitude = Math.pow(2, rng.nextDouble(-14, 15.99));
            v[i] = (float) (rng.nextBoolean() ? magnitude : -magnitude);
        }
        INDArray a = Nd4j.createFromArray(v);
        Tensor t = codec.encode(a, DType.FLOAT16);
        assertThat(t.getData().size()).isEqualTo(2 * v.length);
        INDArray back = codec.decode(t);
        double maxRel = back.sub(a).div(a).amaxNumber().doubleValue();
        assertThat(maxRel).isLessThanOrEqualTo(Math.pow(2, -11));
        assertThat(maxRel).isGreaterThan(Math.pow(2, -13)); // really rounded, not passed through

        // Subnormal range: absolute error <= 2^-25 (half the spacing 2^-24).
        INDArray tiny = Nd4j.createFromArray(1e-7f, -3e-6f, 5.9e-5f);
        assertThat(codec.decode(codec.encode(tiny, DType.FLOAT16)).sub(tiny).amaxNumber().doubleValue())
                .isLessThanOrEqualTo(Math.pow(2, -25));
    }

    /** BFLOAT16: round to nearest even, relative error <= 2^-8 over the whole float32 normal range. */
    @Test
    void bfloat16ErrorIsWithinHalfAnUlp() {
        SplittableRandom rng = new SplittableRandom(13);
        float[] v = new float[20_000];
        for (int i = 0; i < v.length; i++) {
            double magnitude = Math.pow(2, rng.nextDouble(-120, 120));
            v[i] = (float) (rng.nextBoolean() ? magnitude : -magnitude);
        }
        INDArray a = Nd4j.createFromArray(v);
        INDArray back = codec.decode(codec.encode(a, DType.BFLOAT16));
        double maxRel = back.castTo(DataType.DOUBLE).sub(a.castTo(DataType.DOUBLE)).div(a.castTo(DataType.DOUBLE))
                .amaxNumber().doubleValue();
        assertThat(maxRel).isLessThanOrEqualTo(Math.pow(2, -8));
        assertThat(maxRel).isGreaterThan(Math.pow(2, -10));
    }

    @Test
    void float16OverflowIsRejectedOnEncode() {
        assertRule(() -> codec.encode(Nd4j.createFromArray(1f, 70000f), DType.FLOAT16), Rule.NOT_REPRESENTABLE);
    }

    @Test
    void decodeRejectsEachBrokenRuleByName() {
        Tensor good = codec.encode(Nd4j.ones(DataType.FLOAT, 2, 3));
        assertRule(() -> codec.decode(good.toBuilder().setDtype(DType.DTYPE_UNSPECIFIED).build()), Rule.UNKNOWN_DTYPE);
        assertRule(() -> codec.decode(good.toBuilder().setDtypeValue(42).build()), Rule.UNKNOWN_DTYPE);
        assertRule(() -> codec.decode(good.toBuilder().setShape(1, -3).build()), Rule.NEGATIVE_DIMENSION);
        assertRule(() -> codec.decode(good.toBuilder().setShape(1, Long.MAX_VALUE / 2).build()), Rule.SIZE_OVERFLOW);
        assertRule(() -> codec.decode(good.toBuilder().setShape(1, 4).build()), Rule.DATA_LENGTH_MISMATCH);
        assertRule(() -> codec.decode(good.toBuilder().setData(good.getData().substring(0, 23)).build()),
                Rule.DATA_LENGTH_MISMATCH);
        assertRule(() -> codec.decode(good.toBuilder().setDtype(DType.FLOAT16).build()), Rule.DATA_LENGTH_MISMATCH);
        assertRule(() -> new TensorCodec(16).decode(good), Rule.TOO_LARGE);
        assertRule(() -> new TensorCodec(16).encode(Nd4j.ones(DataType.FLOAT, 2, 3)), Rule.TOO_LARGE);
        assertRule(() -> codec.encode(Nd4j.ones(DataType.INT, 2)), Rule.UNSUPPORTED_ARRAY_TYPE);
        assertThatThrownBy(() -> codec.decode(good.toBuilder().setShape(1, -3).build()))
                .hasMessageContaining("dimension 1").hasMessageContaining("-3");
    }

    @Test
    void theSizeLimitCountsTheDeclaredShapeNotTheBytesSent() {
        // A tiny message that declares a huge tensor must not allocate it.
        Tensor lying = Tensor.newBuilder().setDtype(DType.FLOAT32).addShape(1L << 18).addShape(1L << 4)
                .setData(ByteString.copyFrom(new byte[8])).build();
        assertRule(() -> new TensorCodec(1L << 20).decode(lying), Rule.TOO_LARGE);
    }

    private static void assertRule(Runnable r, Rule rule) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(MalformedTensorException.class,
                e -> assertThat(e.rule()).isEqualTo(rule));
    }

    private static Tensor roundTripBytes(Tensor t) {
        try {
            return Tensor.parseFrom(t.toByteArray());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    /** Arbitrary bit patterns (NaN payloads excluded: ND4J may canonicalise them). */
    private static INDArray randomBits(SplittableRandom rng, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            float f;
            do {
                f = Float.intBitsToFloat(rng.nextInt());
            } while (Float.isNaN(f));
            v[i] = f;
        }
        return Nd4j.create(v, shape, 'c');
    }

    private static int[] bits(INDArray a) {
        float[] f = a.length() == 0 ? new float[0] : a.dup('c').data().asFloat();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }
}
