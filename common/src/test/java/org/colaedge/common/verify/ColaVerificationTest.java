package org.colaedge.common.verify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.colaedge.common.adapter.AdapterKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Proposition 1 and the trajectory equivalences, for every adapter kind (see {@link ColaVerification}). */
class ColaVerificationTest {

    @ParameterizedTest
    @EnumSource(AdapterKind.class)
    void gradientLearningEqualsBackpropagation(AdapterKind kind) {
        List<Check> checks = new ArrayList<>();
        new ColaVerification(20261204L).runKind(kind, checks::add);
        checks.forEach(c -> System.out.printf("%-14s %-60s abs %.3e rel %.3e %s%n", c.adapterKind(), c.check(),
                c.maxAbsError(), c.maxRelError(), c.passed() ? "PASS" : "FAIL " + c.detail()));
        assertThat(checks).hasSizeGreaterThanOrEqualTo(kind.mergeable() ? 6 : 4);
        assertThat(checks).allSatisfy(c -> assertThat(c.passed()).as(c.check() + " " + c.detail() + " rel " + c.maxRelError()).isTrue());
    }

    /** Negative controls: the checks detect a wrong gradient and a wrong interval. */
    @org.junit.jupiter.api.Test
    void theChecksCanFail() {
        ColaVerification.Problem p = new ColaVerification.Problem(AdapterKind.LOW_RANK, 5);
        var adapters = p.adapters();
        var pass = p.network(adapters, ReferenceNetwork.Mode.UNMERGED).run(p.inputs.get(0), p.labels.get(0));
        ErrorMeter meter = new ErrorMeter();
        for (var a : adapters.values()) {
            var hg = pass.hidden().get(a.layer());
            meter.add(a.gradient(hg.input(), hg.gradient().mul(1.001)), pass.parameterGradients().get(a.layer()));
        }
        assertThat(meter.maxRel()).isBetween(5e-4, 2e-3);

        // ColA with I=4 is not plain SGD: compared with an I=1 reference it must fail.
        Check wrongInterval = ColaVerification.trajectoryAgainst(p, 4, 1);
        assertThat(wrongInterval.passed()).isFalse();
        assertThat(wrongInterval.maxRelError()).isGreaterThan(1e-3);
    }
}
