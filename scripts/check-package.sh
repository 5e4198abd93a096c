#!/usr/bin/env bash
# The package as users get it: `npm pack`, then install the tarball into an empty folder with
# install scripts disabled and a PATH holding only node and npm (no cmake, no compiler, no nvcc),
# and use it there: `senet info`, a forward and backward pass of a small SE-ResNeXt through both
# require and import, TypeScript types for both module systems, the bundled oneDNN being the one
# loaded, and a clear error where no prebuild matches. Needs `npm run prebuildify` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-package: $*" >&2; exit 1; }

cd "$root"
[ -f prebuilds/linux-x64/senet.node ] || fail "no prebuilds/linux-x64/senet.node: run npm run prebuildify first"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
tar -tzf "$tarball" | sort > "$work/list"
for f in dist/lib/index.js dist/lib/index.d.ts dist/lib/cli.js dist/binding.d.ts binding.d.ts LICENSE README.md \
         prebuilds/linux-x64/senet.node prebuilds/linux-x64/libdnnl.so.2 prebuilds/linux-x64/licenses/libdnnl.so.2.copyright \
         CMakeLists.txt native/addon/addon.cc; do
  grep -qx "package/$f" "$work/list" || fail "the tarball lacks $f"
done
if grep -E '^package/(test|dist/test)/' "$work/list"; then fail "the tarball holds tests"; fi
if grep -E '^package/prebuilds/.*/lib(c|stdc\+\+|gcc_s|m)\.so' "$work/list"; then fail "the tarball carries a system library"; fi
echo "check-package: $(basename "$tarball"): $(du -h "$tarball" | cut -f1) packed, $(wc -l < "$work/list") files, prebuilds/linux-x64: $(tar -tvzf "$tarball" | awk '/prebuilds\/linux-x64\/[^/]+$/ {s+=$3} END {printf "%.1f MB", s/1e6}') unpacked"

# node and npm, nothing else
mkdir -p "$work/bin" "$work/app"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(readlink -f "$(command -v npm)")" "$work/bin/npm"
for tool in cmake g++ gcc c++ cc nvcc make python3; do
  if PATH="$work/bin" command -v "$tool" >/dev/null 2>&1; then fail "$tool is on the test PATH"; fi
done
cd "$work/app"
PATH="$work/bin" npm init -y >/dev/null
PATH="$work/bin" npm install --ignore-scripts --no-audit --no-fund --loglevel=error "$tarball"

PATH="$work/bin" node_modules/.bin/senet info

cat > check.cjs <<'JS'
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const s = require('senet');
// The oneDNN mapped into this process is the copy that travels with the package.
const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5]).filter((f) => f && /libdnnl/.test(f));
const bundled = fs.realpathSync(path.join(__dirname, 'node_modules/senet/prebuilds/linux-x64'));
assert.ok(maps.length > 0, 'libdnnl is loaded');
for (const f of new Set(maps)) assert.ok(f.startsWith(bundled + '/'), `libdnnl loaded from ${f}, not from ${bundled}`);
const model = s.createModel({ layers: [1, 1], channels: [8, 16], cardinality: 2, baseWidth: 16, stemWidth: 8, stem: 'imagenet', inChannels: 3, numClasses: 4 }, { device: 'cpu' });
const x = s.randn([2, 16, 16, 3], { seed: 1 });
const labels = s.tensor(Int32Array.from([0, 3]));
const logits = model.logits(x);
const { loss } = s.ops.crossEntropyForward(logits, labels);
model.backward(s.ops.crossEntropyBackward(logits, labels));
const grads = model.params.grads.toArray();
assert.ok(Number.isFinite(loss.toArray()[0]), 'finite loss');
assert.ok(grads.some((g) => g !== 0), 'non-zero gradients');
new s.SGD(model, { lr: 0.1, momentum: 0.9 }).step();
console.log(`require: forward and backward of a small SE-ResNeXt, loss ${loss.toArray()[0].toFixed(4)}; oneDNN from ${[...new Set(maps)][0]}`);
JS
PATH="$work/bin" node check.cjs

cat > check.mjs <<'JS'
import { createModel, backends, ops, randn, tensor } from 'senet';
import senet from 'senet';
const model = createModel('seresnext26_8x8d', { numClasses: 3, inChannels: 1, device: 'cpu' });
const logits = model.logits(randn([2, 28, 28, 1], { seed: 2 }));
const { loss } = ops.crossEntropyForward(logits, tensor(Int32Array.from([1, 2])));
model.backward(ops.crossEntropyBackward(logits, tensor(Int32Array.from([1, 2]))));
if (!Number.isFinite(loss.toArray()[0]) || typeof senet.createModel !== 'function' || !backends().cpu.available) throw new Error('import failed');
console.log(`import: forward and backward of seresnext26_8x8d, loss ${loss.toArray()[0].toFixed(4)}`);
JS
PATH="$work/bin" node check.mjs

# Types, found without configuration, from CommonJS and from ES modules.
cat > types.ts <<'TS'
import { createModel, type SEResNeXt, type BackendsReport, backends } from 'senet';
import type { NativeBinding } from 'senet/binding';
const m: SEResNeXt = createModel('seresnext50_32x4d', { numClasses: 10 });
const r: BackendsReport = backends();
const n: number = m.parameterCount;
type B = NativeBinding['convBnForward'];
export { r, n, type B };
TS
cat > types.mts <<'TS'
import { createModel, ops, type Tensor } from 'senet';
const t: Tensor = ops.add as unknown as Tensor;
export const model = createModel({ layers: [1], channels: [16], cardinality: 1, baseWidth: 64, stemWidth: 8, stem: 'cifar', inChannels: 1, numClasses: 2 });
export { t };
TS
echo '{"compilerOptions":{"module":"nodenext","moduleResolution":"nodenext","strict":true,"noEmit":true,"skipLibCheck":false,"types":["node"],"typeRoots":["'"$root"'/node_modules/@types"]},"files":["types.ts","types.mts"]}' > tsconfig.json
PATH="$work/bin" node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json
echo "types: TypeScript finds senet's types from types.ts (CommonJS) and types.mts (ES module)"

# Where no prebuild matches (here: prebuilds removed), the error says so and how to build.
rm -rf node_modules/senet/prebuilds
out=$(PATH="$work/bin" node -e "try { require('senet'); console.log('loaded') } catch (e) { console.log(e.code + ': ' + e.message) }")
case "$out" in
  SENET_NATIVE_LOAD*"no prebuilt binary for linux-x64"*"cmake-js"*) echo "no prebuild: $out" ;;
  *) fail "unexpected result without a prebuild: $out" ;;
esac
echo "check-package: all checks passed"
