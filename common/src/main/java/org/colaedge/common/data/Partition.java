package org.colaedge.common.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seeded partitions of a data set's samples across N users, the standard ways federated and
 * collaborative experiments make users' data identical or skewed. Each method returns
 * {@code int[users][]}: user u's sample indices, ascending. Together the users hold every index
 * 0..labels.length-1 exactly once, every user holds at least one, and the same arguments give the
 * same partition on every machine (all draws derive from one {@link SplittableRandom}).
 *
 * <ul>
 *   <li>{@link #iid}: a uniform random split into near-equal parts (sizes differ by at most one).
 *   <li>{@link #dirichlet}: label skew. Per class, proportions over users ~ Dirichlet(alpha);
 *       small alpha (0.1) gives each user few classes, large alpha (100) nearly iid.
 *   <li>{@link #shards}: pathological skew (McMahan et al. 2017). Sort by label, cut into
 *       users*shardsPerUser equal shards, deal each user shardsPerUser random shards.
 * </ul>
 */
public final class Partition {

    private static final Logger log = LoggerFactory.getLogger(Partition.class);

    /** How often {@link #dirichlet} draws again when a draw leaves a user without samples. */
    static final int MAX_DIRICHLET_DRAWS = 100;

    private Partition() {
    }

    /** Shuffles all indices and cuts them into {@code users} contiguous parts of near-equal size. */
    public static int[][] iid(int[] labels, int users, long seed) {
        checkUsers(labels.length, users);
        int[] order = identity(labels.length);
        Sampling.shuffle(order, new SplittableRandom(seed));
        int[][] out = new int[users][];
        for (int u = 0; u < users; u++) {
            int from = (int) ((long) u * labels.length / users);
            int to = (int) ((long) (u + 1) * labels.length / users);
            out[u] = sorted(Arrays.copyOfRange(order, from, to));
        }
        return out;
    }

    /**
     * Label-skewed partition. For each class c in ascending order: shuffle its indices, draw
     * p ~ Dirichlet(alpha, ..., alpha) over the users and give user u the slice
     * [round(n_c * P_{u-1}), round(n_c * P_u)) where P is the cumulative sum of p. Gamma draws use
     * Marsaglia-Tsang (in log space, so tiny alphas do not underflow).
     *
     * <p>If a draw leaves some user with no sample at all, the whole partition is drawn again (from
     * the continuing random stream, so still deterministic), up to {@value #MAX_DIRICHLET_DRAWS}
     * times. Should every draw fail (very small alpha with many users), each empty user is given one
     * sample taken from the user with the most samples, and this is logged.
     *
     * @param alpha concentration, positive: 0.1 = strongly skewed, 1 = moderately, 100 = near iid
     */
    public static int[][] dirichlet(int[] labels, int users, double alpha, long seed) {
        checkUsers(labels.length, users);
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("Dirichlet alpha must be positive and finite, was " + alpha);
        }
        int[][] byClass = indicesByClass(labels, classCount(labels));
        SplittableRandom rng = new SplittableRandom(seed);
        List<List<Integer>> parts = null;
        for (int draw = 1; draw <= MAX_DIRICHLET_DRAWS; draw++) {
            parts = drawDirichlet(byClass, users, alpha, rng);
            if (parts.stream().noneMatch(List::isEmpty)) {
                return toSortedArrays(parts);
            }
        }
        int moved = 0;
        for (List<Integer> part : parts) {
            if (part.isEmpty()) {
                List<Integer> largest = parts.stream().max((a, b) -> Integer.compare(a.size(), b.size())).orElseThrow();
                part.add(largest.remove(largest.size() - 1));
                moved++;
            }
        }
        log.info("Dirichlet partition (alpha {}, {} users, seed {}): {} draws all left a user empty; moved one sample each to {} empty users",
                alpha, users, seed, MAX_DIRICHLET_DRAWS, moved);
        return toSortedArrays(parts);
    }

    /**
     * Shard partition: the indices, shuffled and then ordered by label (so a shard's members are
     * random samples of its class), are cut into users*shardsPerUser contiguous shards whose sizes
     * differ by at most one; the shards are shuffled and user u gets shards
     * [u*shardsPerUser, (u+1)*shardsPerUser). A shard spans at most two classes when it is no
     * larger than the smallest class, so a user sees at most 2*shardsPerUser classes, and at most
     * shardsPerUser when shard boundaries fall on class boundaries (equal classes, shards dividing them).
     */
    public static int[][] shards(int[] labels, int users, int shardsPerUser, long seed) {
        checkUsers(labels.length, users);
        if (shardsPerUser < 1) {
            throw new IllegalArgumentException("shards per user must be at least 1, was " + shardsPerUser);
        }
        long shardCount = (long) users * shardsPerUser;
        if (shardCount > labels.length) {
            throw new IllegalArgumentException(users + " users x " + shardsPerUser + " shards = " + shardCount
                    + " shards, more than the " + labels.length + " samples");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int[] sortedByLabel = new int[labels.length];
        int at = 0;
        for (int[] members : indicesByClass(labels, classCount(labels))) {
            Sampling.shuffle(members, rng);
            System.arraycopy(members, 0, sortedByLabel, at, members.length);
            at += members.length;
        }
        int shards = (int) shardCount;
        int[] shardOrder = identity(shards);
        Sampling.shuffle(shardOrder, rng);
        int[][] out = new int[users][];
        for (int u = 0; u < users; u++) {
            List<Integer> mine = new ArrayList<>();
            for (int k = u * shardsPerUser; k < (u + 1) * shardsPerUser; k++) {
                int s = shardOrder[k];
                int from = (int) ((long) s * labels.length / shards);
                int to = (int) ((long) (s + 1) * labels.length / shards);
                for (int i = from; i < to; i++) {
                    mine.add(sortedByLabel[i]);
                }
            }
            out[u] = sorted(mine.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }

    /**
     * Element c: the indices labelled c, ascending.
     *
     * @throws IllegalArgumentException if a label is outside 0..classes-1
     */
    public static int[][] indicesByClass(int[] labels, int classes) {
        int[] counts = new int[classes];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("label of sample " + i + " is " + labels[i] + ", outside 0.." + (classes - 1));
            }
            counts[labels[i]]++;
        }
        int[][] out = new int[classes][];
        for (int c = 0; c < classes; c++) {
            out[c] = new int[counts[c]];
        }
        int[] fill = new int[classes];
        for (int i = 0; i < labels.length; i++) {
            out[labels[i]][fill[labels[i]]++] = i;
        }
        return out;
    }

    private static List<List<Integer>> drawDirichlet(int[][] byClass, int users, double alpha, SplittableRandom rng) {
        List<List<Integer>> parts = new ArrayList<>(users);
        for (int u = 0; u < users; u++) {
            parts.add(new ArrayList<>());
        }
        for (int[] classMembers : byClass) {
            int[] members = classMembers.clone();
            Sampling.shuffle(members, rng);
            double[] p = Sampling.dirichlet(rng, alpha, users);
            double cumulative = 0;
            int from = 0;
            for (int u = 0; u < users; u++) {
                cumulative += p[u];
                int to = u == users - 1 ? members.length : (int) Math.min(members.length, Math.round(members.length * cumulative));
                for (int i = from; i < to; i++) {
                    parts.get(u).add(members[i]);
                }
                from = Math.max(from, to);
            }
        }
        return parts;
    }

    private static int classCount(int[] labels) {
        int max = -1;
        for (int label : labels) {
            if (label < 0) {
                throw new IllegalArgumentException("labels must be non-negative, found " + label);
            }
            max = Math.max(max, label);
        }
        return max + 1;
    }

    private static void checkUsers(int samples, int users) {
        if (users < 1) {
            throw new IllegalArgumentException("need at least one user, was " + users);
        }
        if (users > samples) {
            throw new IllegalArgumentException(users + " users cannot each get a sample of only " + samples);
        }
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        Arrays.setAll(a, i -> i);
        return a;
    }

    private static int[] sorted(int[] a) {
        Arrays.sort(a);
        return a;
    }

    private static int[][] toSortedArrays(List<List<Integer>> parts) {
        int[][] out = new int[parts.size()][];
        for (int u = 0; u < out.length; u++) {
            out[u] = sorted(parts.get(u).stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }
}
