#!/usr/bin/env node
// prebuildify's build step, done by cmake-js. prebuildify calls this file as it would call
// node-gyp (its --node-gyp option): `rebuild --target=<node> --devdir=<dir> --arch=<arch>
// --release`. We build with cmake-js instead (an N-API build needs no target headers), then put
// beside the addon the shared libraries it needs beyond glibc and libstdc++ (oneDNN and what it
// pulls in), each made to look for its own dependencies in its own folder ($ORIGIN), and their
// licences: prebuildify copies *.so* from build/Release and the artifacts folder into
// prebuilds/<platform>-<arch>/.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const arch = (args.find((a) => a.startsWith('--arch=')) || `--arch=${process.arch}`).slice('--arch='.length);
const debug = args.includes('--debug');
const release = path.join(root, 'build', debug ? 'Debug' : 'Release');
const artifacts = path.join(root, 'build', 'prebuild-artifacts');

// The libraries every Linux system has, which must not travel with the addon.
const SYSTEM = /^(linux-vdso|ld-linux-[^.]*|libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+)\.so/;

function run(cmd, argv) {
  execFileSync(cmd, argv, { cwd: root, stdio: 'inherit' });
}

run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'rebuild', '--arch', arch, ...(debug ? ['--debug'] : [])]);

const addon = path.join(release, 'senet.node');
const ldd = execFileSync('ldd', [addon], { encoding: 'utf8' });
const libs = [...ldd.matchAll(/^\s*(\S+) => (\/\S+)/gm)].filter(([, name]) => !SYSTEM.test(name)).map(([, name, file]) => ({ name, file }));
if (!libs.some((l) => l.name.startsWith('libdnnl'))) throw new Error(`prebuild-backend: oneDNN not found in ldd ${addon}:\n${ldd}`);

fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(path.join(artifacts, 'licenses'), { recursive: true });
for (const { name, file } of libs) {
  const dest = path.join(release, name);
  fs.copyFileSync(fs.realpathSync(file), dest);
  fs.chmodSync(dest, 0o755);
  run('patchelf', ['--set-rpath', '$ORIGIN', dest]);
  // The licence of the Debian package that holds it.
  const owner = execFileSync('dpkg', ['-S', fs.realpathSync(file)], { encoding: 'utf8' }).split(':')[0];
  const copyright = `/usr/share/doc/${owner}/copyright`;
  if (!fs.existsSync(copyright)) throw new Error(`prebuild-backend: no licence for ${name} (${copyright} is missing)`);
  fs.copyFileSync(copyright, path.join(artifacts, 'licenses', `${name}.copyright`));
  process.stdout.write(`prebuild-backend: bundled ${name} (${owner}) with RUNPATH $ORIGIN\n`);
}
fs.copyFileSync(path.join(root, 'LICENSE'), path.join(artifacts, 'licenses', 'senet.LICENSE'));
