package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class ImageDatasetTest {

    /** 6 images of 2x3 pixels; image i has pixel p = 40*i + p (image 5: 200..205), labels 0,1,2,0,1,2. */
    private static ImageDataset small() {
        byte[] pixels = new byte[6 * 6];
        for (int i = 0; i < 6; i++) {
            for (int p = 0; p < 6; p++) {
                pixels[i * 6 + p] = (byte) (40 * i + p);
            }
        }
        pixels[5 * 6 + 5] = (byte) 255;
        return ImageDataset.of("small", List.of("zero", "one", "two"), 2, 3, new int[] {0, 1, 2, 0, 1, 2}, pixels);
    }

    @Test
    void featuresAreFloat32PixelsOver255InRequestedOrder() {
        ImageDataset ds = small();
        INDArray f = ds.features(new int[] {5, 0, 5});
        assertThat(f.dataType()).isEqualTo(DataType.FLOAT);
        assertThat(f.shape()).containsExactly(3, 6);
        assertThat(f.getFloat(0, 0)).isEqualTo(200 / 255f);
        assertThat(f.getFloat(0, 5)).isEqualTo(1f);
        assertThat(f.getFloat(1, 0)).isEqualTo(0f);
        assertThat(f.getFloat(1, 4)).isEqualTo(4 / 255f);
        assertThat(f.getRow(2)).isEqualTo(f.getRow(0));
        assertThat(f.minNumber().floatValue()).isGreaterThanOrEqualTo(0f);
        assertThat(f.maxNumber().floatValue()).isLessThanOrEqualTo(1f);
    }

    @Test
    void imagesAreTheSameValuesInNchwLayoutAndOneHotLabelsMatch() {
        ImageDataset ds = small();
        int[] idx = {1, 4};
        INDArray images = ds.images(idx);
        assertThat(images.shape()).containsExactly(2, 1, 2, 3);
        assertThat(images.getFloat(1, 0, 1, 2)).isEqualTo((40 * 4 + 5) / 255f); // row 1, col 2 = pixel 5
        assertThat(images.reshape(2, 6)).isEqualTo(ds.features(idx));

        INDArray y = ds.labelsOneHot(new int[] {2, 3, 4});
        assertThat(y.shape()).containsExactly(3, 3);
        assertThat(y.toFloatMatrix()).isEqualTo(new float[][] {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}});

        assertThat(ds.features(new int[0]).shape()).containsExactly(0, 6);
    }

    @Test
    void subsetsCountsAndPixelsAreByIndex() {
        ImageDataset ds = small();
        ImageDataset sub = ds.subset(new int[] {4, 4, 2});
        assertThat(sub.labels()).containsExactly(1, 1, 2);
        assertThat(sub.pixel(2, 1, 0)).isEqualTo(40 * 2 + 3);
        assertThat(sub.classCounts()).containsExactly(0, 2, 1);
        assertThat(ds.classCounts()).containsExactly(2, 2, 2);
        assertThat(ds.subset(ds.allIndices())).isEqualTo(ds);
        assertThatThrownBy(() -> ds.subset(new int[] {6})).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("sample index 6");
    }

    @Test
    void filterClassesKeepsOrRemapsLabels() {
        ImageDataset ds = small();
        ImageDataset kept = ds.filterClasses(Set.of(2, 1));
        assertThat(kept.labels()).containsExactly(1, 2, 1, 2);
        assertThat(kept.classes()).isEqualTo(3);
        assertThat(kept.pixel(0, 0, 0)).isEqualTo(40);

        ImageDataset remapped = ds.filterClasses(Set.of(2, 1), true);
        assertThat(remapped.labels()).containsExactly(0, 1, 0, 1);
        assertThat(remapped.classNames()).containsExactly("one", "two");
        assertThat(remapped.name()).isEqualTo("small[classes 1,2]");
        assertThat(remapped.features(remapped.allIndices())).isEqualTo(kept.features(kept.allIndices()));

        assertThatThrownBy(() -> ds.filterClasses(Set.of(3))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void invalidContentIsRejectedAndInputsAreCopied() {
        assertThatThrownBy(() -> ImageDataset.of("x", List.of("a"), 2, 2, new int[] {0}, new byte[3]))
                .hasMessageContaining("need 4 pixel bytes, got 3");
        assertThatThrownBy(() -> ImageDataset.of("x", List.of("a", "b"), 1, 1, new int[] {2}, new byte[1]))
                .hasMessageContaining("label of sample 0 is 2");
        int[] labels = {0};
        byte[] pixels = {7};
        ImageDataset ds = ImageDataset.of("x", List.of("a"), 1, 1, labels, pixels);
        pixels[0] = 9;
        labels[0] = 5;
        assertThat(ds.pixel(0, 0, 0)).isEqualTo(7);
        assertThat(ds.label(0)).isZero();
    }
}
