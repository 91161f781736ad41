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
}
