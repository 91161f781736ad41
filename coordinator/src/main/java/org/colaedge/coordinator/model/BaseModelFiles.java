package org.colaedge.coordinator.model;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.ConvGeometry;
import org.colaedge.common.wire.ChecksummedFile;
import org.colaedge.common.wire.MalformedTensorException;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.proto.v1.BaseModelFile;
import org.colaedge.proto.v1.Conv2dLayer;
import org.colaedge.proto.v1.DenseLayer;
import org.colaedge.proto.v1.FlattenLayer;
import org.colaedge.proto.v1.GlobalAvgPoolLayer;
import org.colaedge.proto.v1.MaxPoolLayer;
import org.colaedge.proto.v1.ModelLayer;
import org.colaedge.proto.v1.NamedTensor;
import org.colaedge.proto.v1.ReluLayer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Saves and loads base models: a {@link ChecksummedFile} ("CEBM", SHA-256) whose payload is a
 * format-version byte (1) and a {@code colaedge.v1.BaseModelFile} protobuf with raw little-endian tensors. A DL4J
 * {@code ModelSerializer} zip is recognised and imported through {@link Dl4jImport}.
 */
public final class BaseModelFiles {

    private static final String MAGIC = "CEBM";
    private static final byte FORMAT_VERSION = 1;

    private BaseModelFiles() {
    }

    public static void save(BaseModel model, Path file, String description) throws IOException {
        TensorCodec codec = new TensorCodec(Long.MAX_VALUE / 4);
        BaseModelFile.Builder b = BaseModelFile.newBuilder().setName(model.name()).setDescription(description == null ? "" : description);
        for (long d : model.inputShape()) {
            b.addInputShape(d);
        }
        for (LayerSpec l : model.layers()) {
            b.addLayers(toProto(l));
        }
        for (String layer : model.slots().keySet()) {
            b.addWeights(NamedTensor.newBuilder().setName(layer + "/W").setTensor(codec.encode(model.weight(layer))));
            b.addWeights(NamedTensor.newBuilder().setName(layer + "/b").setTensor(codec.encode(model.bias(layer))));
        }
        byte[] proto = b.build().toByteArray();
        byte[] payload = new byte[proto.length + 1];
        payload[0] = FORMAT_VERSION;
        System.arraycopy(proto, 0, payload, 1, proto.length);
        ChecksummedFile.write(file, MAGIC, payload);
    }

    /** Loads a ColA Edge model file or imports a DL4J ModelSerializer zip. */
    public static BaseModel load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("base model file " + file + " does not exist");
        }
        byte[] all = Files.readAllBytes(file);
        if (all.length >= 2 && all[0] == 'P' && all[1] == 'K') {
            return Dl4jImport.load(file);
        }
        if (all.length < 4 || !new String(all, 0, 4, java.nio.charset.StandardCharsets.US_ASCII).equals(MAGIC)) {
            throw new IOException(file + " is neither a ColA Edge base model (magic CEBM) nor a DL4J model zip");
        }
        byte[] checked = ChecksummedFile.read(file, MAGIC);
        if (checked.length == 0 || checked[0] != FORMAT_VERSION) {
            throw new IOException(file + " has model format version " + (checked.length == 0 ? "none" : checked[0])
                    + "; this build reads version " + FORMAT_VERSION);
        }
        byte[] payload = Arrays.copyOfRange(checked, 1, checked.length);
        try {
            return fromProto(BaseModelFile.parseFrom(payload), file.toString());
        } catch (InvalidProtocolBufferException | MalformedTensorException | IllegalArgumentException e) {
            throw new IOException(file + " is not a valid base model: " + e.getMessage(), e);
        }
    }

    static BaseModel fromProto(BaseModelFile f, String source) {
        List<LayerSpec> layers = new ArrayList<>();
        for (ModelLayer ml : f.getLayersList()) {
            layers.add(switch (ml.getKindCase()) {
                case DENSE -> new LayerSpec.Dense(ml.getDense().getName(), ml.getDense().getIn(), ml.getDense().getOut());
                case CONV2D -> {
                    var c = ml.getConv2D();
                    var g = c.getGeometry();
                    yield new LayerSpec.Conv2d(c.getName(), c.getInChannels(), c.getOutChannels(),
                            new ConvGeometry(g.getKernelH(), g.getKernelW(), g.getStrideH(), g.getStrideW(), g.getPadH(), g.getPadW()));
                }
                case RELU -> new LayerSpec.Relu();
                case MAX_POOL -> new LayerSpec.MaxPool(ml.getMaxPool().getKernel(), ml.getMaxPool().getStride());
                case GLOBAL_AVG_POOL -> new LayerSpec.GlobalAvgPool();
                case FLATTEN -> new LayerSpec.Flatten();
                case KIND_NOT_SET -> throw new IllegalArgumentException("layer " + layers.size() + " of " + source + " has no kind");
            });
        }
        TensorCodec codec = new TensorCodec(Long.MAX_VALUE / 4);
        Map<String, INDArray> w = new LinkedHashMap<>();
        Map<String, INDArray> b = new LinkedHashMap<>();
        for (NamedTensor nt : f.getWeightsList()) {
            String name = nt.getName();
            int slash = name.lastIndexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException("weight '" + name + "' is not named <layer>/W or <layer>/b");
            }
            INDArray v = codec.decode(nt.getTensor());
            switch (name.substring(slash + 1)) {
                case "W" -> w.put(name.substring(0, slash), v);
                case "b" -> b.put(name.substring(0, slash), v.reshape(v.length()));
                default -> throw new IllegalArgumentException("weight '" + name + "' is not named <layer>/W or <layer>/b");
            }
        }
        long[] input = f.getInputShapeList().stream().mapToLong(Long::longValue).toArray();
        return new BaseModel(f.getName(), input, layers, w, b);
    }

    static ModelLayer toProto(LayerSpec l) {
        ModelLayer.Builder m = ModelLayer.newBuilder();
        if (l instanceof LayerSpec.Dense d) {
            m.setDense(DenseLayer.newBuilder().setName(d.name()).setIn(d.in()).setOut(d.out()));
        } else if (l instanceof LayerSpec.Conv2d c) {
            ConvGeometry g = c.geometry();
            m.setConv2D(Conv2dLayer.newBuilder().setName(c.name()).setInChannels(c.inChannels()).setOutChannels(c.outChannels())
                    .setGeometry(org.colaedge.proto.v1.ConvGeometry.newBuilder().setKernelH(g.kernelH()).setKernelW(g.kernelW())
                            .setStrideH(g.strideH()).setStrideW(g.strideW()).setPadH(g.padH()).setPadW(g.padW())));
        } else if (l instanceof LayerSpec.Relu) {
            m.setRelu(ReluLayer.getDefaultInstance());
        } else if (l instanceof LayerSpec.MaxPool p) {
            m.setMaxPool(MaxPoolLayer.newBuilder().setKernel(p.kernel()).setStride(p.stride()));
        } else if (l instanceof LayerSpec.GlobalAvgPool) {
            m.setGlobalAvgPool(GlobalAvgPoolLayer.getDefaultInstance());
        } else {
            m.setFlatten(FlattenLayer.getDefaultInstance());
        }
        return m.build();
    }
}
