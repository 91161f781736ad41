package org.colaedge.common.learning;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * The device-side optimizer of gradient learning, built from DL4J's updaters and regularizers.
 *
 * @param kind          SGD, NESTEROVS (SGD with Nesterov momentum), ADAM, ADAMW
 * @param learningRate  base learning rate
 * @param momentum      NESTEROVS momentum
 * @param beta1         ADAM/ADAMW first-moment decay
 * @param beta2         ADAM/ADAMW second-moment decay
 * @param epsilon       ADAM/ADAMW epsilon
 * @param weightDecay   SGD/NESTEROVS/ADAM: L2 penalty added to the gradient (PyTorch's
 *                      {@code weight_decay}); ADAMW: decoupled decay lr * wd * w (DL4J's
 *                      {@link WeightDecay}, which with Adam is AdamW)
 * @param clipNorm      gradient-norm clipping over all of a learner's adapters; 0 disables it
 * @param schedule      learning-rate schedule over optimizer steps
 */
public record OptimizerConfig(
        Kind kind,
        double learningRate,
        double momentum,
        double beta1,
        double beta2,
        double epsilon,
        double weightDecay,
        double clipNorm,
        LearningRateSchedule schedule) {

    public enum Kind { SGD, NESTEROVS, ADAM, ADAMW }

    public OptimizerConfig {
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a positive finite number, was " + learningRate);
        }
        if (weightDecay < 0 || clipNorm < 0) {
            throw new IllegalArgumentException("weight decay and clip norm must be non-negative, were " + weightDecay + ", " + clipNorm);
        }
        if (schedule == null) {
            schedule = new LearningRateSchedule.Constant();
        }
    }

    public static OptimizerConfig sgd(double learningRate) {
        return new OptimizerConfig(Kind.SGD, learningRate, 0, 0.9, 0.999, 1e-8, 0, 0, null);
    }

    public static OptimizerConfig nesterovs(double learningRate, double momentum) {
        return new OptimizerConfig(Kind.NESTEROVS, learningRate, momentum, 0.9, 0.999, 1e-8, 0, 0, null);
    }

    public static OptimizerConfig adam(double learningRate) {
        return new OptimizerConfig(Kind.ADAM, learningRate, 0, 0.9, 0.999, 1e-8, 0, 0, null);
    }

    public static OptimizerConfig adamW(double learningRate, double weightDecay) {
        return new OptimizerConfig(Kind.ADAMW, learningRate, 0, 0.9, 0.999, 1e-8, weightDecay, 0, null);
    }

    public OptimizerConfig withWeightDecay(double wd) {
        return new OptimizerConfig(kind, learningRate, momentum, beta1, beta2, epsilon, wd, clipNorm, schedule);
    }

    public OptimizerConfig withClipNorm(double clip) {
        return new OptimizerConfig(kind, learningRate, momentum, beta1, beta2, epsilon, weightDecay, clip, schedule);
    }

    public OptimizerConfig withSchedule(LearningRateSchedule s) {
        return new OptimizerConfig(kind, learningRate, momentum, beta1, beta2, epsilon, weightDecay, clipNorm, s);
    }

    /** A fresh DL4J updater configuration (one per adapter: updaters carry state). */
    public IUpdater toUpdater() {
        var lr = schedule.toSchedule(learningRate);
        return switch (kind) {
            case SGD -> new Sgd(lr);
            case NESTEROVS -> new Nesterovs(lr, momentum);
            case ADAM, ADAMW -> Adam.builder().learningRateSchedule(lr).beta1(beta1).beta2(beta2).epsilon(epsilon).build();
        };
    }

    /** The DL4J regularizations applied around the updater. */
    public List<Regularization> toRegularizations() {
        List<Regularization> r = new ArrayList<>();
        if (weightDecay > 0) {
            r.add(kind == Kind.ADAMW ? new WeightDecay(weightDecay, true) : new L2Regularization(weightDecay));
        }
        return r;
    }
}
