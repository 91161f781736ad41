package org.colaedge.common.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.adapter.ConvGeometry;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.proto.v1.AdapterKind;
import org.colaedge.proto.v1.AdapterParameters;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.Capabilities;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.DeviceHello;
import org.colaedge.proto.v1.DeviceRegistered;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.ProtocolVersion;
import org.colaedge.proto.v1.Tensor;
import org.colaedge.proto.v1.TrainingBatch;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Every wire message survives serialisation, and decoding rejects what does not fit. */
class WireMessagesTest {

    private final WireMapping wire = new WireMapping(new TensorCodec());

    @Test
    void deviceHelloAndRegistration() {
        DeviceHello hello = DeviceHello.newBuilder().setDeviceId("phone-17").setProtocolVersion(ProtocolVersion.PROTOCOL_VERSION_1)
                .setAuthToken("s3cret")
                .setCapabilities(Capabilities.newBuilder().addAdapterKinds(AdapterKind.LOW_RANK).addAdapterKinds(AdapterKind.MLP)
                        .addDtypes(DType.FLOAT32).addDtypes(DType.BFLOAT16).setMaxMessageBytes(16 << 20)
                        .setComputeSpeed(0.25f).setMemoryBytes(1L << 30))
                .build();
        assertThat(roundTrip(hello, DeviceHello.parser())).isEqualTo(hello);
        DeviceRegistered reg = DeviceRegistered.newBuilder().setDeviceId("phone-17")
                .setProtocolVersion(WireMapping.PROTOCOL_VERSION).setCoordinatorId("coord-1").build();
        assertThat(roundTrip(reg, DeviceRegistered.parser())).isEqualTo(reg);
    }

    @Test
    void adapterSpecsOfEveryKindRoundTripThroughTheDomainType() {
        List<AdapterSpec> specs = List.of(
                AdapterSpec.linear("fc1", 784, 128, true, 1),
                AdapterSpec.lowRank("fc2", 128, 256, 8, 2f, 2),
                AdapterSpec.mlp("fc3", 256, 10, List.of(128, 64), 3),
                AdapterSpec.convLowRank("conv1", 1, 64, 4, 1f, new ConvGeometry(3, 5, 1, 2, 1, 0), 4));
        for (AdapterSpec s : specs) {
            var proto = WireMapping.toProto(s);
            var parsed = roundTrip(proto, org.colaedge.proto.v1.AdapterSpec.parser());
            assertThat(WireMapping.fromProto(parsed)).isEqualTo(s);
        }
    }

    @Test
    void adapterSpecWithUnknownKindOrBadSizesIsMalformed() {
        var bad = WireMapping.toProto(AdapterSpec.linear("fc1", 4, 4, false, 1)).toBuilder().setKindValue(99).build();
        assertThatThrownBy(() -> WireMapping.fromProto(bad)).isInstanceOfSatisfying(ProtocolException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_MESSAGE)).hasMessageContaining("unknown adapter kind 99");
        var noRank = WireMapping.toProto(AdapterSpec.lowRank("fc2", 4, 4, 2, 1f, 1)).toBuilder().setRank(0).build();
        assertThatThrownBy(() -> WireMapping.fromProto(noRank)).isInstanceOf(ProtocolException.class).hasMessageContaining("rank");
    }

    @Test
    void trainingBatch() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
        INDArray y = Nd4j.createFromArray(3f, 1f, 4f, 1f);
        TrainingBatch b = TrainingBatch.newBuilder().setJobId("job-a").setDeviceId("dev-1").setStep(41)
                .setInputs(wire.codec().encode(x)).setLabels(wire.codec().encode(y)).build();
        TrainingBatch back = roundTrip(b, TrainingBatch.parser());
        assertThat(back).isEqualTo(b);
        assertThat(wire.codec().decode(back.getInputs())).isEqualTo(x);
        assertThat(wire.codec().decode(back.getLabels())).isEqualTo(y);
    }

    @Test
    void hiddenGradientsCarryEveryLayerAndTheAdapterVersion() {
        Map<String, HiddenGradient> layers = Map.of(
                "fc1", new HiddenGradient(Nd4j.rand(DataType.FLOAT, 3, 5), Nd4j.rand(DataType.FLOAT, 3, 7)),
                "conv1", new HiddenGradient(Nd4j.rand(DataType.FLOAT, 3, 2, 4, 4), Nd4j.rand(DataType.FLOAT, 3, 6, 4, 4)));
        HiddenGradients msg = wire.hiddenGradients("job-a", "dev-1", 12, 9, 0.75, layers, DType.FLOAT32);
        HiddenGradients back = roundTrip(msg, HiddenGradients.parser());
        assertThat(back.getAdapterVersion()).isEqualTo(9);
        assertThat(back.getStep()).isEqualTo(12);
        assertThat(back.getSamples()).isEqualTo(3);
        Map<String, HiddenGradient> decoded = wire.decodeHiddenGradients(back, List.of("fc1", "conv1"));
        layers.forEach((k, v) -> {
            assertThat(decoded.get(k).input()).isEqualTo(v.input());
            assertThat(decoded.get(k).gradient()).isEqualTo(v.gradient());
        });
    }

    @Test
    void hiddenGradientsWithNaNOrUnknownLayerOrBatchMismatchAreRejected() {
        INDArray nan = Nd4j.rand(DataType.FLOAT, 2, 3);
        nan.putScalar(1, 2, Float.NaN);
        HiddenGradients withNan = wire.hiddenGradients("j", "d", 1, 0, 0,
                Map.of("fc1", new HiddenGradient(Nd4j.rand(DataType.FLOAT, 2, 4), nan)), DType.FLOAT32);
        assertThatThrownBy(() -> wire.decodeHiddenGradients(withNan, List.of("fc1")))
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NON_FINITE_VALUES))
                .hasMessageContaining("delta of layer fc1");
        HiddenGradients ok = wire.hiddenGradients("j", "d", 1, 0, 0,
                Map.of("fc9", new HiddenGradient(Nd4j.rand(DataType.FLOAT, 2, 4), Nd4j.rand(DataType.FLOAT, 2, 3))), DType.FLOAT32);
        assertThatThrownBy(() -> wire.decodeHiddenGradients(ok, List.of("fc1")))
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.SHAPE_MISMATCH))
                .hasMessageContaining("unknown layer 'fc9'");
        HiddenGradients mismatch = wire.hiddenGradients("j", "d", 1, 0, 0,
                Map.of("fc1", new HiddenGradient(Nd4j.rand(DataType.FLOAT, 2, 4), Nd4j.rand(DataType.FLOAT, 5, 3))), DType.FLOAT32);
        assertThatThrownBy(() -> wire.decodeHiddenGradients(mismatch, List.of("fc1")))
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.SHAPE_MISMATCH));
        HiddenGradients corrupt = ok.toBuilder().setLayers(0, ok.getLayers(0).toBuilder().setLayer("fc1")
                .setGradient(Tensor.newBuilder().setDtype(DType.FLOAT32).addShape(2).addShape(3))).build();
        assertThatThrownBy(() -> wire.decodeHiddenGradients(corrupt, List.of("fc1")))
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_TENSOR))
                .hasMessageContaining("DATA_LENGTH_MISMATCH");
    }

    @Test
    void adapterUpdateWithParametersOrMergedDelta() {
        Adapter a = Adapters.create(AdapterSpec.lowRank("fc2", 6, 5, 2, 2f, 7));
        a.param("B").assign(Nd4j.rand(DataType.FLOAT, 2, 5));
        AdapterUpdate params = roundTrip(wire.parameterUpdate("job-a", "dev-1", a, 3, 30, 256), AdapterUpdate.parser());
        assertThat(params.getPayloadCase()).isEqualTo(AdapterUpdate.PayloadCase.PARAMETERS);
        assertThat(params.getVersion()).isEqualTo(3);
        assertThat(params.getBasedOnStep()).isEqualTo(30);
        Adapter other = Adapters.create(AdapterSpec.lowRank("fc2", 6, 5, 2, 2f, 99));
        Map<String, INDArray> decoded = wire.decodeParameters(other, params.getParameters());
        decoded.forEach(other::setParam);
        assertThat(other.params()).isEqualTo(a.params());

        AdapterUpdate merged = roundTrip(wire.mergedDeltaUpdate("job-a", "dev-1", a, 4, 31, 256), AdapterUpdate.parser());
        assertThat(merged.getPayloadCase()).isEqualTo(AdapterUpdate.PayloadCase.MERGED_DELTA);
        assertThat(wire.codec().decode(merged.getMergedDelta())).isEqualTo(a.deltaWeight());
    }

    @Test
    void parametersWithWrongShapeMissingOrExtraEntriesAreRejectedBeforeAnyWrite() {
        Adapter a = Adapters.create(AdapterSpec.lowRank("fc2", 6, 5, 2, 1f, 7));
        AdapterParameters p = wire.parameters(a);
        AdapterParameters wrongShape = p.toBuilder().setTensors(1, p.getTensors(1).toBuilder()
                .setTensor(wire.codec().encode(Nd4j.zeros(DataType.FLOAT, 5, 2)))).build();
        assertThatThrownBy(() -> wire.decodeParameters(a, wrongShape)).isInstanceOfSatisfying(ProtocolException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.SHAPE_MISMATCH)).hasMessageContaining("'B' has shape [5, 2], expected [2, 5]");
        AdapterParameters missing = p.toBuilder().removeTensors(0).build();
        assertThatThrownBy(() -> wire.decodeParameters(a, missing)).hasMessageContaining("expected parameters [A, B]");
        AdapterParameters duplicate = p.toBuilder().addTensors(p.getTensors(0)).build();
        assertThatThrownBy(() -> wire.decodeParameters(a, duplicate)).hasMessageContaining("appears twice");
    }

    @Test
    void errorReply() {
        ErrorReply e = new ProtocolException(ErrorCode.UNKNOWN_JOB, "no job 'x'").toReply("x", "dev-1", 5);
        assertThat(roundTrip(e, ErrorReply.parser())).isEqualTo(e);
        assertThat(e.getMessage()).isEqualTo("no job 'x'");
    }

    @Test
    void unknownFieldsFromANewerPeerAreIgnoredNotFatal() throws Exception {
        // A v1.x peer may add field 99; a v1 reader keeps parsing.
        byte[] withExtra = com.google.protobuf.UnknownFieldSet.newBuilder()
                .mergeFrom(DeviceRegistered.newBuilder().setDeviceId("d").build().toByteArray())
                .addField(99, com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(7).build())
                .build().toByteArray();
        assertThat(DeviceRegistered.parseFrom(withExtra).getDeviceId()).isEqualTo("d");
    }

    private static <T extends Message> T roundTrip(T msg, Parser<T> parser) {
        try {
            return parser.parseFrom(msg.toByteArray());
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
