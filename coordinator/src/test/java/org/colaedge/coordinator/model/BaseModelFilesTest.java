package org.colaedge.coordinator.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

class BaseModelFilesTest {

    @TempDir
    Path dir;

    @Test
    void saveAndLoadRoundTripBitExactly() throws IOException {
        BaseModel m = BaseModel.cnn(new long[] {1, 8, 8}, List.of(3, 4), 5, 9);
        Path f = dir.resolve("cnn.cebm");
        BaseModelFiles.save(m, f, "test");
        BaseModel back = BaseModelFiles.load(f);
        assertThat(back.layers()).isEqualTo(m.layers());
        assertThat(back.inputShape()).isEqualTo(m.inputShape());
        for (String l : m.slots().keySet()) {
            assertThat(back.weight(l)).isEqualTo(m.weight(l));
            assertThat(back.bias(l)).isEqualTo(m.bias(l));
        }
    }

    @Test
    void corruptOrForeignFilesGetAClearError() throws IOException {
        BaseModel m = BaseModel.mlp(new long[] {12}, List.of(8), 3, 1);
        Path f = dir.resolve("mlp.cebm");
        BaseModelFiles.save(m, f, "");
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length / 2] ^= 0x5A;
        Path corrupt = dir.resolve("corrupt.cebm");
        Files.write(corrupt, bytes);
        assertThatThrownBy(() -> BaseModelFiles.load(corrupt)).isInstanceOf(IOException.class).hasMessageContaining("is corrupt");
        Path truncated = dir.resolve("truncated.cebm");
        Files.write(truncated, java.util.Arrays.copyOf(Files.readAllBytes(f), 100));
        assertThatThrownBy(() -> BaseModelFiles.load(truncated)).hasMessageContaining("is corrupt");
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello");
        assertThatThrownBy(() -> BaseModelFiles.load(text)).hasMessageContaining("neither a ColA Edge base model");
        assertThatThrownBy(() -> BaseModelFiles.load(dir.resolve("missing"))).hasMessageContaining("does not exist");
    }

    @Test
    void importsADl4jCnnAndComputesTheSameOutputs() throws IOException {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(3).padding(1, 1).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(5).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(8, 8, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Path zip = dir.resolve("dl4j.zip");
        ModelSerializer.writeModel(net, zip.toFile(), false);

        BaseModel m = BaseModelFiles.load(zip);
        assertThat(m.inputShape()).containsExactly(1, 8, 8);
        assertThat(m.layers()).hasAtLeastOneElementOfType(LayerSpec.Flatten.class);
        Nd4j.getRandom().setSeed(4);
        INDArray flat = Nd4j.rand(DataType.FLOAT, 6, 64);
        INDArray expected = net.output(flat);
        INDArray logits = new HiddenGradientEngine(m).logits(flat.reshape(6, 1, 8, 8), ModelView.base());
        INDArray probs = Transforms.softmax(logits, true);
        assertThat(probs.sub(expected).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    @Test
    void importsGlobalPoolingCnn() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).padding(1, 1).activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(6, 6, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        BaseModel m = Dl4jImport.convert(net, "gap");
        INDArray flat = Nd4j.rand(DataType.FLOAT, 3, 36);
        INDArray probs = Transforms.softmax(new HiddenGradientEngine(m).logits(flat.reshape(3, 1, 6, 6), ModelView.base()), true);
        assertThat(probs.sub(net.output(flat)).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    @Test
    void unsupportedLayersAreNamed() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().nOut(5).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        assertThatThrownBy(() -> Dl4jImport.convert(net, "bn")).hasMessageContaining("layer 1 (BatchNormalization").hasMessageContaining("not supported");
        MultiLayerConfiguration tanh = new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork n2 = new MultiLayerNetwork(tanh);
        n2.init();
        assertThatThrownBy(() -> Dl4jImport.convert(n2, "tanh")).hasMessageContaining("layer 0 (DenseLayer").hasMessageContaining("activation");
    }
}
