#!/bin/sh
# The property-based suite (test/property) at length: SENET_PROPERTY_SCALE times the cases CI
# runs (default 20, about 10 minutes on two cores), from a seed drawn at random and printed, so
# that a failure can be replayed with SENET_PROPERTY_SEED=<seed> scripts/property-long.sh.
# SENET_PROPERTY_SHRINK=1 shrinks a counterexample (slower). SENET_PROPERTY_HUGE=1 adds tensor
# views with sizes near 2^31, 2^32 and 2^53; until the native overflow checks of issue 13
# item 1 are in, expect a crash or an out-of-memory kill from it: run it on a machine of its own.
# Needs a build (npm run build).
set -e
cd "$(dirname "$0")/.."
seed=${SENET_PROPERTY_SEED:-$(node -e 'process.stdout.write(String(Math.floor(Math.random() * 2 ** 31)))')}
scale=${SENET_PROPERTY_SCALE:-20}
echo "property suite: seed $seed, $scale x the CI cases"
SENET_PROPERTY_SEED=$seed SENET_PROPERTY_SCALE=$scale npx ava --timeout=120m --verbose dist/test/property/*.test.js
