package org.colaedge.common.wire;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.ConvGeometry;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.proto.v1.AdapterParameters;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.LayerGradient;
import org.colaedge.proto.v1.NamedTensor;
import org.colaedge.proto.v1.ProtocolVersion;
import org.colaedge.proto.v1.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one place where domain objects (adapters, specs, hidden gradients) meet wire-protocol-v1
 * messages. Everything read from the wire is validated here: a message that does not fit throws
 * {@link ProtocolException} with the error code to answer it with.
 */
public final class WireMapping {

    /** The protocol version this build speaks. */
    public static final ProtocolVersion PROTOCOL_VERSION = ProtocolVersion.PROTOCOL_VERSION_1;

    private final TensorCodec codec;

    public WireMapping(TensorCodec codec) {
        this.codec = codec;
    }

    public TensorCodec codec() {
        return codec;
    }

    // ---- adapter specs ------------------------------------------------------------------------

    public static org.colaedge.proto.v1.AdapterSpec toProto(AdapterSpec s) {
        var b = org.colaedge.proto.v1.AdapterSpec.newBuilder()
                .setLayer(s.layer())
                .setKind(org.colaedge.proto.v1.AdapterKind.valueOf(s.kind().name()))
                .setInFeatures(s.inFeatures())
                .setOutFeatures(s.outFeatures())
                .setRank(s.rank())
                .setScaling(s.scaling())
                .setSeed(s.seed())
                .setBias(s.bias())
                .addAllHidden(s.hidden());
        if (s.conv() != null) {
            ConvGeometry g = s.conv();
            b.setConv(org.colaedge.proto.v1.ConvGeometry.newBuilder().setKernelH(g.kernelH()).setKernelW(g.kernelW())
                    .setStrideH(g.strideH()).setStrideW(g.strideW()).setPadH(g.padH()).setPadW(g.padW()));
        }
        return b.build();
    }

    public static AdapterSpec fromProto(org.colaedge.proto.v1.AdapterSpec p) {
        AdapterKind kind = switch (p.getKind()) {
            case LOW_RANK -> AdapterKind.LOW_RANK;
            case LINEAR -> AdapterKind.LINEAR;
            case MLP -> AdapterKind.MLP;
            case CONV_LOW_RANK -> AdapterKind.CONV_LOW_RANK;
            default -> throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE,
                    "adapter spec for layer '" + p.getLayer() + "': unknown adapter kind " + p.getKindValue());
        };
        ConvGeometry conv = null;
        try {
            if (p.hasConv()) {
                var g = p.getConv();
                conv = new ConvGeometry(g.getKernelH(), g.getKernelW(), g.getStrideH(), g.getStrideW(), g.getPadH(), g.getPadW());
            }
            float scaling = p.getScaling() == 0f ? 1f : p.getScaling();
            return new AdapterSpec(p.getLayer(), kind, p.getInFeatures(), p.getOutFeatures(), p.getRank(), scaling,
                    p.getSeed(), p.getBias(), p.getHiddenList(), conv);
        } catch (IllegalArgumentException e) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, e.getMessage(), e);
        }
    }

    // ---- adapter parameters ---------------------------------------------------------------------

    public AdapterParameters parameters(Adapter adapter) {
        var b = AdapterParameters.newBuilder();
        for (Map.Entry<String, INDArray> e : adapter.paramViews().entrySet()) {
            b.addTensors(NamedTensor.newBuilder().setName(e.getKey()).setTensor(codec.encode(e.getValue())));
        }
        return b.build();
    }

    /**
     * Decodes a parameter message for {@code adapter}: every parameter exactly once, with its
     * exact shape and finite values. Nothing is written unless all of it is valid.
     */
    public Map<String, INDArray> decodeParameters(Adapter adapter, AdapterParameters p) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (NamedTensor nt : p.getTensorsList()) {
            long[] expected = adapter.paramShapes().get(nt.getName());
            if (expected == null) {
                throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "layer " + adapter.layer() + ": unknown parameter '"
                        + nt.getName() + "'; expected " + adapter.paramShapes().keySet());
            }
            INDArray v = decodeFinite(nt.getTensor(), "parameter '" + nt.getName() + "' of layer " + adapter.layer());
            if (!java.util.Arrays.equals(v.shape(), expected)) {
                throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "layer " + adapter.layer() + ": parameter '" + nt.getName()
                        + "' has shape " + java.util.Arrays.toString(v.shape()) + ", expected " + java.util.Arrays.toString(expected));
            }
            if (out.put(nt.getName(), v) != null) {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "layer " + adapter.layer() + ": parameter '"
                        + nt.getName() + "' appears twice");
            }
        }
        if (!out.keySet().equals(adapter.paramShapes().keySet())) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "layer " + adapter.layer() + ": expected parameters "
                    + adapter.paramShapes().keySet() + ", got " + out.keySet());
        }
        return out;
    }

    public AdapterUpdate parameterUpdate(String jobId, String deviceId, Adapter adapter, long version, long basedOnStep, long samples) {
        return AdapterUpdate.newBuilder().setJobId(jobId).setDeviceId(deviceId).setLayer(adapter.layer())
                .setVersion(version).setBasedOnStep(basedOnStep).setSamples(samples)
                .setParameters(parameters(adapter)).build();
    }

    public AdapterUpdate mergedDeltaUpdate(String jobId, String deviceId, Adapter adapter, long version, long basedOnStep, long samples) {
        return AdapterUpdate.newBuilder().setJobId(jobId).setDeviceId(deviceId).setLayer(adapter.layer())
                .setVersion(version).setBasedOnStep(basedOnStep).setSamples(samples)
                .setMergedDelta(codec.encode(adapter.deltaWeight())).build();
    }

    // ---- hidden gradients -----------------------------------------------------------------------

    public HiddenGradients hiddenGradients(String jobId, String deviceId, long step, long adapterVersion, double loss,
                                           Map<String, HiddenGradient> layers, DType dtype) {
        var b = HiddenGradients.newBuilder().setJobId(jobId).setDeviceId(deviceId).setStep(step)
                .setAdapterVersion(adapterVersion).setLoss((float) loss);
        long samples = 0;
        for (Map.Entry<String, HiddenGradient> e : layers.entrySet()) {
            b.addLayers(LayerGradient.newBuilder().setLayer(e.getKey())
                    .setInput(codec.encode(e.getValue().input(), dtype))
                    .setGradient(codec.encode(e.getValue().gradient(), dtype)));
            samples = e.getValue().input().size(0);
        }
        return b.setSamples(samples).build();
    }

    /** Decodes and validates: known, unique layers; finite values; x and delta with the same batch size. */
    public Map<String, HiddenGradient> decodeHiddenGradients(HiddenGradients msg, List<String> expectedLayers) {
        Map<String, HiddenGradient> out = new LinkedHashMap<>();
        for (LayerGradient lg : msg.getLayersList()) {
            if (!expectedLayers.contains(lg.getLayer())) {
                throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "hidden gradients for unknown layer '" + lg.getLayer()
                        + "'; adapted layers are " + expectedLayers);
            }
            INDArray x = decodeFinite(lg.getInput(), "input x of layer " + lg.getLayer());
            INDArray d = decodeFinite(lg.getGradient(), "hidden gradient delta of layer " + lg.getLayer());
            if (x.rank() == 0 || d.rank() == 0 || x.size(0) != d.size(0)) {
                throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "layer " + lg.getLayer() + ": x " + java.util.Arrays.toString(x.shape())
                        + " and delta " + java.util.Arrays.toString(d.shape()) + " must share the batch dimension");
            }
            if (out.put(lg.getLayer(), new HiddenGradient(x, d)) != null) {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "layer '" + lg.getLayer() + "' appears twice");
            }
        }
        if (out.size() != expectedLayers.size()) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "hidden gradients cover layers " + out.keySet()
                    + ", expected " + expectedLayers);
        }
        return out;
    }

    /** Decodes a tensor and rejects NaN/Inf, naming what it was. */
    public INDArray decodeFinite(Tensor t, String what) {
        INDArray a;
        try {
            a = codec.decode(t);
        } catch (MalformedTensorException e) {
            ErrorCode code = e.rule() == MalformedTensorException.Rule.TOO_LARGE ? ErrorCode.MESSAGE_TOO_LARGE : ErrorCode.MALFORMED_TENSOR;
            throw new ProtocolException(code, what + ": " + e.getMessage(), e);
        }
        if (!TensorCodec.allFinite(t)) { // after decode: the tensor is known to be well formed
            throw new ProtocolException(ErrorCode.NON_FINITE_VALUES, what + " contains NaN or Inf");
        }
        return a;
    }
}
