#!/usr/bin/env bash
# The GPU checks in one call of a lent GPU machine (../shared/device/README.md): run there as
#   bash .gpu/gpu-run.sh bash scripts/gpu-check.sh [STAGE...]
# after a CUDA build here (build/Release) and `bash ../shared/device/pack.sh`. Stages, in order of
# what matters most, each under its own time limit so that one hang does not cost the others:
#   tests      the CUDA tests and every test that also runs on CUDA (parity in fp32 and bf16)
#   sanitizer  compute-sanitizer memcheck over the CUDA op tests (its out-of-memory test's refused
#              allocations show as API errors: 8 of them are expected)
#   racecheck  compute-sanitizer racecheck over the bf16 op tests (shared-memory races in the pack
#              kernels' row sums); not in the default list: ask for it
#   bench-P    senet bench at 224x224x3 batch 256 in precision P (bf16, fp32, tf32) beside PyTorch + timm
#   breakdown  senet bench --breakdown in bf16 (per op family, cuDNN's algorithm names)
#   packs      the bf16 bench without PyTorch and with SENET_CUDA_PACKS=0 (senet's one-element
#              kernels), to set beside bench-bf16's senet figures: what the 16-byte packs give
#   release    the same with SENET_RELEASE_ACTIVATIONS=1 (activations and gradient buffers freed
#              during the backward pass): its peak GPU memory and speed against bench-bf16's
#   timm       a full-depth seresnext50_32x4d fixture from the machine's timm, with PyTorch's bf16
#              yardsticks on both devices; parity (fp32 and bf16) on the CPU and CUDA
# Logs go to $OUT (they come back); a table of what passed is printed last.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-check}; mkdir -p "$out"
stages=${*:-tests sanitizer bench-bf16 breakdown packs release bench-fp32 timm bench-tf32}
ava="node node_modules/ava/entrypoints/cli.mjs"
summary=()
note() { summary+=("$1"); echo "== $1"; }

# stage NAME SECONDS COMMAND...: runs COMMAND with a time limit, output to $out/NAME.log
stage() {
  local name=$1 secs=$2; shift 2
  local t0=$SECONDS
  echo "== stage $name (limit ${secs}s): $*"
  timeout -k 5 "$secs" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  note "$name: rc $rc in $((SECONDS - t0)) s"
  tail -n 25 "$out/$name.log"
}

node -e "const s=require('./dist/lib');console.log(JSON.stringify(s.backends().cuda))"
python3 -c "import torch,timm;print('torch',torch.__version__,'cudnn',torch.backends.cudnn.version(),'timm',timm.__version__)" 2>&1

for s in $stages; do
  case $s in
    tests)
      stage tests 200 $ava --verbose --timeout 3m dist/test/cuda/*.test.js dist/test/parity.test.js \
        dist/test/parity_bf16.test.js dist/test/precision.test.js dist/test/errors.test.js
      grep -E '✘|failed|passed|skipped|known failure' "$out/tests.log" | tail -n 40 ;;
    sanitizer)
      stage sanitizer 150 compute-sanitizer --tool memcheck --target-processes all --error-exitcode 9 \
        $ava --timeout 3m dist/test/cuda/ops.test.js dist/test/cuda/bf16.test.js dist/test/cuda/fused.test.js
      grep -E 'ERROR SUMMARY|Invalid|passed|failed' "$out/sanitizer.log" | head -n 20 ;;
    racecheck)
      stage racecheck 150 compute-sanitizer --tool racecheck --target-processes all --error-exitcode 9 \
        $ava --timeout 3m dist/test/cuda/bf16.test.js
      grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|hazard|passed|failed' "$out/racecheck.log" | head -n 20 ;;
    bench-bf16|bench-fp32|bench-tf32)
      # float32 steps took 1.4 s each on the H200 (2026-12-01): fewer of them
      steps=10; [ "$s" = bench-fp32 ] && steps=3
      stage "$s" 150 node dist/lib/cli.js bench --device cuda --precision "${s#bench-}" --batch-size 256 --size 224 \
        --channels 3 --pytorch-format channels_last --steps $steps --warmup 2 --repeats 3 ;;
    packs|release)
      flag=SENET_CUDA_PACKS=0; [ "$s" = release ] && flag=SENET_RELEASE_ACTIVATIONS=1
      stage "$s" 120 env $flag node dist/lib/cli.js bench --device cuda --precision bf16 --batch-size 256 \
        --size 224 --channels 3 --no-pytorch --steps 10 --warmup 2 --repeats 3 ;;
    breakdown)
      stage breakdown 150 node dist/lib/cli.js bench --device cuda --precision bf16 --batch-size 256 --size 224 \
        --channels 3 --no-pytorch --breakdown --steps 5 --warmup 3 --repeats 2 ;;
    timm)
      # make_timm_fixture.py is ../shared/fixtures/tools' (copied into .gpu/tools before the call).
      dir=/tmp/timm-fixture; mkdir -p $dir; f=parity-timm-seresnext50.safetensors
      stage timm-make 120 python3 .gpu/tools/make_timm_fixture.py $dir/$f \
        '{"timm":"seresnext50_32x4d","config":{"layers":[3,4,6,3],"channels":[64,128,256,512],"cardinality":32,"baseWidth":4,"stemWidth":64,"stem":"imagenet","inChannels":3,"numClasses":10},"batch":4,"size":96,"seed":1,"lr":0.01}'
      # PyTorch's own bf16 autocast on each device: the yardsticks of test/parity_bf16.test.ts.
      for d in cpu cuda; do
        python3 bench/pytorch/bf16_yardstick.py $dir/$f --device $d | tee "/tmp/timm-yardstick-$d.log" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
name = "bf16-yardstick.json" if r["device"] == "cpu" else "bf16-yardstick-cuda.json"
keys = ("evalLogits", "trainLogits", "loss", "gradients")
json.dump({"fixtures": {r["file"]: {k: r[k] for k in keys}}}, open(sys.argv[1] + "/" + name, "w"))' $dir
      done
      export SENET_PARITY_DIR=$dir
      stage timm-parity 200 $ava --verbose --timeout 3m dist/test/parity.test.js dist/test/parity_bf16.test.js
      grep -E '✘|✔|ℹ' "$out/timm-parity.log" | grep -i -A4 timm | head -n 40 ;;
  esac
done

echo "== summary"
printf '%s\n' "${summary[@]}"
