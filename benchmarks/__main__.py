"""``python -m benchmarks``: every figure against its naive baseline (see benchmarks.suite)."""

from benchmarks.suite import main

raise SystemExit(main())
