package org.colaedge.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.concurrent.TimeUnit;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.proto.v1.LayerGradient;
import org.colaedge.proto.v1.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Throughput of the tensor codec. {@code encodeDecode}: INDArray -> Tensor -> INDArray (what a
 * peer pays per tensor besides the transport). {@code encodeSerializeParseDecode}: the same
 * through protobuf bytes of a {@link LayerGradient}, as on the wire.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CodecBenchmark {

    @Param("64")
    public int rows;

    @Param("1024")
    public int cols;

    private final TensorCodec codec = new TensorCodec();
    private INDArray array;
    private Tensor encoded;

    @Setup
    public void setup() {
        Nd4j.getRandom().setSeed(1);
        array = Nd4j.rand(DataType.FLOAT, rows, cols);
        encoded = codec.encode(array);
    }

    // Decoded arrays are closed at once: their memory is off-heap, and when a benchmark makes
    // little heap garbage the GC (which frees it otherwise) runs too rarely, so JavaCPP stalls
    // on its off-heap limit. That measures the GC, not the codec.

    @Benchmark
    public float encodeDecode() {
        return consume(codec.decode(codec.encode(array)));
    }

    @Benchmark
    public float encodeSerializeParseDecode() throws InvalidProtocolBufferException {
        byte[] bytes = LayerGradient.newBuilder().setLayer("fc1").setGradient(codec.encode(array)).build().toByteArray();
        return consume(codec.decode(LayerGradient.parseFrom(bytes).getGradient()));
    }

    @Benchmark
    public Tensor encodeOnly() {
        return codec.encode(array);
    }

    @Benchmark
    public float decodeOnly() {
        return consume(codec.decode(encoded));
    }

    private static float consume(INDArray decoded) {
        float probe = decoded.getFloat(decoded.length() - 1);
        decoded.close();
        return probe;
    }

    public static double payloadBytes(String rows, String cols) {
        return 4.0 * Integer.parseInt(rows) * Integer.parseInt(cols);
    }
}
