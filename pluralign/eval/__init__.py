"""The benchmark: suites, generation, scoring, bootstrap CIs, stress tests, reports, compare."""
