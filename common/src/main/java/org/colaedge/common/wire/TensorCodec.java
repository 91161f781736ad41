package org.colaedge.common.wire;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.colaedge.common.wire.MalformedTensorException.Rule;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Converts between ND4J arrays and wire {@link Tensor}s: row-major, raw little-endian bytes, shape
 * and dtype. The float32 path is a single bulk copy each way (no per-element Java loop), and is a
 * bit-exact round trip. FLOAT16 and BFLOAT16 round to nearest-even on encode; their error bounds
 * are documented in docs/protocol.md and checked by the tests.
 *
 * <p>Decoding validates every rule of {@link Rule} before touching the data, so a malformed
 * message is rejected with an exception naming the broken rule instead of producing a mis-shaped
 * array. Decoded arrays are always FLOAT32 (the compute type of ColA Edge).
 */
public final class TensorCodec {

    /** Default upper bound of one tensor's payload: 256 MiB. */
    public static final long DEFAULT_MAX_BYTES = 256L << 20;

    /** Largest finite FLOAT16 value. */
    static final float FLOAT16_MAX = 65504f;

    private static final boolean NATIVE_LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final long maxBytes;

    public TensorCodec(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive, was " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    public TensorCodec() {
        this(DEFAULT_MAX_BYTES);
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Encodes as FLOAT32. */
    public Tensor encode(INDArray array) {
        return encode(array, DType.FLOAT32);
    }

    /** Encodes {@code array} (any floating-point type) in the given wire dtype. */
    public Tensor encode(INDArray array, DType dtype) {
        DataType target = ndType(dtype);
        if (!array.dataType().isFPType()) {
            throw new MalformedTensorException(Rule.UNSUPPORTED_ARRAY_TYPE,
                    "only floating-point arrays are carried, got " + array.dataType());
        }
        long[] shape = array.shape();
        long bytes = checkedByteSize(shape, bytesPer(dtype));
        if (bytes > maxBytes) {
            throw new MalformedTensorException(Rule.TOO_LARGE,
                    "tensor of shape " + Arrays.toString(shape) + " is " + bytes + " bytes, above the maximum of " + maxBytes);
        }
        Tensor.Builder out = Tensor.newBuilder().setDtype(dtype);
        for (long d : shape) {
            out.addShape(d);
        }
        if (bytes == 0) {
            return out.setData(ByteString.EMPTY).build();
        }
        if (dtype == DType.FLOAT16) {
            double maxAbs = array.amaxNumber().doubleValue();
            if (maxAbs > FLOAT16_MAX) {
                throw new MalformedTensorException(Rule.NOT_REPRESENTABLE,
                        "value of magnitude " + maxAbs + " overflows FLOAT16 (max " + FLOAT16_MAX + ")");
            }
        }
        INDArray contiguous = contiguous(array, target);
        ByteBuffer raw = contiguous.data().asNio();
        raw.limit((int) bytes);
        return out.setData(toLittleEndian(raw, target)).build();
    }

    /** Decodes to a FLOAT32 array after checking every rule; throws {@link MalformedTensorException}. */
    public INDArray decode(Tensor tensor) {
        DType dtype = tensor.getDtype();
        if (dtype == DType.DTYPE_UNSPECIFIED || dtype == DType.UNRECOGNIZED) {
            throw new MalformedTensorException(Rule.UNKNOWN_DTYPE,
                    "dtype " + (dtype == DType.UNRECOGNIZED ? "number " + tensor.getDtypeValue() : dtype) + " is not one of FLOAT32, FLOAT16, BFLOAT16");
        }
        long[] shape = new long[tensor.getShapeCount()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = tensor.getShape(i);
            if (shape[i] < 0) {
                throw new MalformedTensorException(Rule.NEGATIVE_DIMENSION,
                        "dimension " + i + " of shape " + tensor.getShapeList() + " is negative");
            }
        }
        int elementBytes = bytesPer(dtype);
        long expected = checkedByteSize(shape, elementBytes);
        if (expected > maxBytes) {
            throw new MalformedTensorException(Rule.TOO_LARGE,
                    "tensor of shape " + tensor.getShapeList() + " would be " + expected + " bytes, above the maximum of " + maxBytes);
        }
        int actual = tensor.getData().size();
        if (actual != expected) {
            throw new MalformedTensorException(Rule.DATA_LENGTH_MISMATCH,
                    "shape " + tensor.getShapeList() + " of " + dtype + " needs " + expected + " bytes, data has " + actual);
        }
        if (expected == 0) {
            return Nd4j.create(DataType.FLOAT, shape, 'c');
        }
        DataType wireType = ndType(dtype);
        INDArray wire = Nd4j.createUninitialized(wireType, shape, 'c'); // every byte is written below
        ByteBuffer target = wire.data().asNio();
        ByteBuffer source = tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if (NATIVE_LITTLE_ENDIAN) {
            target.put(source);
        } else if (elementBytes == 4) {
            target.order(ByteOrder.nativeOrder()).asFloatBuffer().put(source.asFloatBuffer());
        } else {
            target.order(ByteOrder.nativeOrder()).asShortBuffer().put(source.asShortBuffer());
        }
        return wireType == DataType.FLOAT ? wire : wire.castTo(DataType.FLOAT);
    }

    /**
     * Whether every element of a well-formed tensor's data is finite, read from its raw
     * little-endian bits (a non-finite value has all exponent bits set): no array is allocated.
     */
    public static boolean allFinite(Tensor tensor) {
        ByteBuffer b = tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        switch (tensor.getDtype()) {
            case FLOAT32 -> {
                java.nio.IntBuffer ints = b.asIntBuffer();
                for (int i = 0, n = ints.remaining(); i < n; i++) {
                    if ((ints.get(i) & 0x7f800000) == 0x7f800000) {
                        return false;
                    }
                }
            }
            case FLOAT16, BFLOAT16 -> {
                int mask = tensor.getDtype() == DType.FLOAT16 ? 0x7c00 : 0x7f80;
                java.nio.ShortBuffer shorts = b.asShortBuffer();
                for (int i = 0, n = shorts.remaining(); i < n; i++) {
                    if ((shorts.get(i) & mask) == mask) {
                        return false;
                    }
                }
            }
            default -> throw new MalformedTensorException(Rule.UNKNOWN_DTYPE, "dtype " + tensor.getDtype() + " has no finite check");
        }
        return true;
    }

    /** Size in bytes of one element of a wire dtype. */
    public static int bytesPer(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> 4;
            case FLOAT16, BFLOAT16 -> 2;
            default -> throw new MalformedTensorException(Rule.UNKNOWN_DTYPE, "dtype " + dtype + " has no element size");
        };
    }

    private static DataType ndType(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> DataType.FLOAT;
            case FLOAT16 -> DataType.HALF;
            case BFLOAT16 -> DataType.BFLOAT16;
            default -> throw new MalformedTensorException(Rule.UNKNOWN_DTYPE,
                    "dtype " + dtype + " is not one of FLOAT32, FLOAT16, BFLOAT16");
        };
    }

    /** product(shape) * elementBytes, refusing anything that does not fit a byte array. */
    private static long checkedByteSize(long[] shape, int elementBytes) {
        long count = 1;
        try {
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            long bytes = Math.multiplyExact(count, (long) elementBytes);
            if (bytes > Integer.MAX_VALUE - 8) {
                throw new ArithmeticException("above the 2 GiB limit of one message field");
            }
            return bytes;
        } catch (ArithmeticException e) {
            throw new MalformedTensorException(Rule.SIZE_OVERFLOW,
                    "shape " + Arrays.toString(shape) + " overflows: " + e.getMessage());
        }
    }

    /** A dense, zero-offset, row-major array of the target type holding {@code array}'s values. */
    private static INDArray contiguous(INDArray array, DataType target) {
        INDArray a = array.dataType() == target ? array : array.castTo(target);
        boolean dense = a.ordering() == 'c' && !a.isView() && a.offset() == 0 && a.data().length() == a.length();
        return dense ? a : a.dup('c');
    }

    private static ByteString toLittleEndian(ByteBuffer nativeBytes, DataType type) {
        if (NATIVE_LITTLE_ENDIAN) {
            return ByteString.copyFrom(nativeBytes);
        }
        ByteBuffer le = ByteBuffer.allocate(nativeBytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer src = nativeBytes.order(ByteOrder.nativeOrder());
        if (type == DataType.FLOAT) {
            le.asFloatBuffer().put(src.asFloatBuffer());
        } else {
            le.asShortBuffer().put(src.asShortBuffer());
        }
        return ByteString.copyFrom(le.array());
    }
}
