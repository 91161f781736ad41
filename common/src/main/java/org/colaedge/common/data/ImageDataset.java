package org.colaedge.common.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An immutable labelled set of single-channel images (28x28 for MNIST and Fashion-MNIST), stored
 * compactly: one unsigned byte per pixel (0..255), image after image in row-major order, and one
 * int label (0..classes-1) per image. 70,000 Fashion-MNIST images take 55 MB.
 *
 * <p>Arrays for training are built on demand for a list of sample indices: {@link #features} gives
 * float32 [n, rows*cols] scaled to [0, 1] (pixel / 255f), {@link #images} the same values as
 * [n, 1, rows, cols], {@link #labelsOneHot} float32 [n, classes]. Each is filled in a Java array and
 * handed to ND4J in one bulk copy (no per-element ND4J calls).
 *
 * <p>Indices may repeat (sampling with replacement). Equality is by content: name, class names,
 * geometry, labels and pixels.
 */
public final class ImageDataset {

    /** pixel / 255f for every byte value: the exact float each feature takes. */
    private static final float[] UNIT = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            UNIT[b] = b / 255f;
        }
    }

    private final String name;
    private final List<String> classNames;
    private final int rows;
    private final int cols;
    private final int[] labels;
    private final byte[] pixels;

    /** Takes ownership of the arrays (callers in this package pass fresh ones); validates everything. */
    private ImageDataset(String name, List<String> classNames, int rows, int cols, int[] labels, byte[] pixels) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(classNames, "classNames");
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(pixels, "pixels");
        if (name.isBlank()) {
            throw new IllegalArgumentException("image data set: name is empty");
        }
        if (classNames.isEmpty()) {
            throw new IllegalArgumentException("image data set " + name + ": needs at least one class name");
        }
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("image data set " + name + ": image size must be positive, was " + rows + "x" + cols);
        }
        long expected = (long) labels.length * rows * cols;
        if (expected != pixels.length) {
            throw new IllegalArgumentException("image data set " + name + ": " + labels.length + " images of " + rows + "x" + cols
                    + " need " + expected + " pixel bytes, got " + pixels.length);
        }
        int classes = classNames.size();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("image data set " + name + ": label of sample " + i + " is " + labels[i]
                        + ", outside 0.." + (classes - 1));
            }
        }
        this.name = name;
        this.classNames = List.copyOf(classNames);
        this.rows = rows;
        this.cols = cols;
        this.labels = labels;
        this.pixels = pixels;
    }

    /**
     * A data set holding copies of {@code labels} and {@code pixels}.
     *
     * @param name       shown in logs and reports
     * @param classNames one name per class; the class count is its size
     * @param rows       image height
     * @param cols       image width
     * @param labels     one label per image, each in 0..classNames.size()-1
     * @param pixels     labels.length * rows * cols bytes, read as unsigned (0..255), image after
     *                   image, each row-major
     */
    public static ImageDataset of(String name, List<String> classNames, int rows, int cols, int[] labels, byte[] pixels) {
        return new ImageDataset(name, classNames, rows, cols, labels.clone(), pixels.clone());
    }

    /** Like {@link #of} without copying: the caller hands over the arrays and never touches them again. */
    static ImageDataset wrap(String name, List<String> classNames, int rows, int cols, int[] labels, byte[] pixels) {
        return new ImageDataset(name, classNames, rows, cols, labels, pixels);
    }

    /** Class names "0".."k-1", as used for digits. */
    public static List<String> numberedClasses(int k) {
        List<String> names = new ArrayList<>(k);
        for (int c = 0; c < k; c++) {
            names.add(Integer.toString(c));
        }
        return List.copyOf(names);
    }

    public String name() {
        return name;
    }

    /** Number of samples. */
    public int size() {
        return labels.length;
    }

    public int classes() {
        return classNames.size();
    }

    public List<String> classNames() {
        return classNames;
    }

    public String className(int label) {
        return classNames.get(label);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** rows * cols: the feature count of one image. */
    public int pixelsPerImage() {
        return rows * cols;
    }

    public int label(int i) {
        return labels[checkIndex(i)];
    }

    /** A copy of all labels. */
    public int[] labels() {
        return labels.clone();
    }

    /** Pixel value 0..255 of sample {@code i} at ({@code row}, {@code col}). */
    public int pixel(int i, int row, int col) {
        checkIndex(i);
        if (row < 0 || row >= rows || col < 0 || col >= cols) {
            throw new IndexOutOfBoundsException("pixel (" + row + ", " + col + ") is outside the " + rows + "x" + cols + " image");
        }
        return pixels[i * pixelsPerImage() + row * cols + col] & 0xFF;
    }

    /** 0, 1, ..., size()-1. */
    public int[] allIndices() {
        int[] all = new int[size()];
        Arrays.setAll(all, i -> i);
        return all;
    }

    /** float32 [n, rows*cols], each value pixel / 255f, row i from sample indices[i]. */
    public INDArray features(int[] indices) {
        return Nd4j.create(unitPixels(indices), new long[] {indices.length, pixelsPerImage()}, DataType.FLOAT);
    }

    /** float32 [n, 1, rows, cols]: the values of {@link #features} in image layout (NCHW). */
    public INDArray images(int[] indices) {
        return Nd4j.create(unitPixels(indices), new long[] {indices.length, 1, rows, cols}, DataType.FLOAT);
    }

    /** float32 [n, classes], row i one-hot at label(indices[i]). */
    public INDArray labelsOneHot(int[] indices) {
        int k = classes();
        float[] out = new float[checkedSize(indices.length, k)];
        for (int j = 0; j < indices.length; j++) {
            out[j * k + labels[checkIndex(indices[j])]] = 1f;
        }
        return Nd4j.create(out, new long[] {indices.length, k}, DataType.FLOAT);
    }

    /** Samples {@code indices} in that order (same name, classes and label numbering). */
    public ImageDataset subset(int[] indices) {
        return subset(name, indices);
    }

    /** Samples {@code indices} in that order, under a new name. */
    public ImageDataset subset(String newName, int[] indices) {
        int d = pixelsPerImage();
        int[] newLabels = new int[indices.length];
        byte[] newPixels = new byte[checkedSize(indices.length, d)];
        for (int j = 0; j < indices.length; j++) {
            int i = checkIndex(indices[j]);
            newLabels[j] = labels[i];
            System.arraycopy(pixels, i * d, newPixels, j * d, d);
        }
        return new ImageDataset(newName, classNames, rows, cols, newLabels, newPixels);
    }

    /** Samples per class: element c is the number of samples labelled c. */
    public int[] classCounts() {
        int[] counts = new int[classes()];
        for (int label : labels) {
            counts[label]++;
        }
        return counts;
    }

    /** The samples whose label is in {@code keep}, labels and class count unchanged. */
    public ImageDataset filterClasses(Set<Integer> keep) {
        return filterClasses(keep, false);
    }

    /**
     * The samples whose label is in {@code keep}, in their original order. With {@code remapLabels}
     * the kept classes are renumbered 0..k-1 in ascending order of their old labels and the class
     * names follow (so classes 5..9 of Fashion-MNIST become 0..4 named "Sandal".."Ankle boot");
     * without it labels, class count and names stay as they are. For transfer experiments: pretrain
     * on {@code filterClasses(Set.of(0, 1, 2, 3, 4), true)}, fine-tune on classes 5..9 likewise.
     */
    public ImageDataset filterClasses(Set<Integer> keep, boolean remapLabels) {
        TreeSet<Integer> kept = new TreeSet<>(keep);
        if (kept.isEmpty()) {
            throw new IllegalArgumentException("filterClasses on " + name + ": no class to keep");
        }
        if (kept.first() < 0 || kept.last() >= classes()) {
            throw new IllegalArgumentException("filterClasses on " + name + ": classes " + kept + " are not all in 0.." + (classes() - 1));
        }
        int[] newLabel = new int[classes()];
        Arrays.fill(newLabel, -1);
        List<String> newNames = new ArrayList<>();
        for (int c : kept) {
            newLabel[c] = remapLabels ? newNames.size() : c;
            newNames.add(classNames.get(c));
        }
        int[] chosen = Arrays.stream(allIndices()).filter(i -> newLabel[labels[i]] >= 0).toArray();
        String newName = name + "[classes " + kept.stream().map(String::valueOf).collect(Collectors.joining(",")) + "]";
        ImageDataset filtered = subset(newName, chosen);
        if (!remapLabels) {
            return filtered;
        }
        int[] remapped = new int[chosen.length];
        for (int j = 0; j < chosen.length; j++) {
            remapped[j] = newLabel[labels[chosen[j]]];
        }
        return new ImageDataset(newName, newNames, rows, cols, remapped, filtered.pixels);
    }

    /** The pixel bytes themselves, for writers in this package: never modify them. */
    byte[] pixelBytes() {
        return pixels;
    }

    /** The labels themselves, for writers in this package: never modify them. */
    int[] labelArray() {
        return labels;
    }

    private float[] unitPixels(int[] indices) {
        int d = pixelsPerImage();
        float[] out = new float[checkedSize(indices.length, d)];
        for (int j = 0; j < indices.length; j++) {
            int src = checkIndex(indices[j]) * d;
            int dst = j * d;
            for (int p = 0; p < d; p++) {
                out[dst + p] = UNIT[pixels[src + p] & 0xFF];
            }
        }
        return out;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= labels.length) {
            throw new IndexOutOfBoundsException("sample index " + i + " is outside 0.." + (labels.length - 1) + " of " + name);
        }
        return i;
    }

    private int checkedSize(int n, int perSample) {
        long total = (long) n * perSample;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(n + " samples of " + perSample + " values do not fit one array (" + total + " elements)");
        }
        return (int) total;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageDataset other
                && rows == other.rows && cols == other.cols
                && name.equals(other.name) && classNames.equals(other.classNames)
                && Arrays.equals(labels, other.labels) && Arrays.equals(pixels, other.pixels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, classNames, rows, cols, Arrays.hashCode(labels), Arrays.hashCode(pixels));
    }

    @Override
    public String toString() {
        return name + ": " + size() + " images of " + rows + "x" + cols + ", " + classes() + " classes " + Arrays.toString(classCounts());
    }
}
