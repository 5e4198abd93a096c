import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  dtypeSize,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  toBigInt64,
  toFloat32,
  writeSafetensors,
  type SafetensorsDType,
  type TensorToWrite,
} from '../../lib/io';

// __dirname is dist/test/io at run time.
const ROOT = path.join(__dirname, '..', '..', '..');
const FIXTURES = ['parity-tiny-cifar-stem.safetensors', 'parity-tiny-imagenet-stem.safetensors'].map((f) =>
  path.join(ROOT, 'test', 'fixtures', f),
);
const PY_READER = path.join(ROOT, 'test', 'io', 'read_safetensors.py');
const HAS_PYTHON = spawnSync('python3', ['--version']).status === 0;

/** A fresh folder, removed when the test ends (passed or failed). */
function tmpDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-io-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** One tensor of every dtype, plus a scalar and an empty tensor. */
function everyDType(): Record<string, TensorToWrite> {
  return {
    f64: { dtype: 'F64', shape: [3], data: Float64Array.of(1.5, -2, 1e300) },
    f32: { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, -0.5, 3.25, 1e-30) },
    f16: { dtype: 'F16', shape: [2], data: Uint16Array.of(0x3c00, 0xc000) },
    bf16: { dtype: 'BF16', shape: [2], data: Uint16Array.of(0x3f80, 0xc040) },
    i64: { dtype: 'I64', shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n) },
    i32: { dtype: 'I32', shape: [2], data: Int32Array.of(-7, 2 ** 31 - 1) },
    i16: { dtype: 'I16', shape: [2], data: Int16Array.of(-300, 300) },
    i8: { dtype: 'I8', shape: [3], data: Int8Array.of(-128, 0, 127) },
    u64: { dtype: 'U64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
    u32: { dtype: 'U32', shape: [1], data: Uint32Array.of(2 ** 32 - 1) },
    u16: { dtype: 'U16', shape: [1, 1], data: Uint16Array.of(65535) },
    u8: { dtype: 'U8', shape: [4], data: Uint8Array.of(0, 1, 254, 255) },
    bool: { dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) },
    scalar: { dtype: 'F32', shape: [], data: Float32Array.of(42) },
    empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
  };
}

test('round trip of every dtype, a scalar and an empty tensor', (t) => {
  const src = everyDType();
  const file = parseSafetensors(serializeSafetensors(src));
  t.deepEqual([...file.tensors.keys()].sort(), Object.keys(src).sort());
  for (const [name, w] of Object.entries(src)) {
    const r = file.tensors.get(name)!;
    t.is(r.dtype, w.dtype, name);
    t.deepEqual(r.shape, [...w.shape], name);
    t.deepEqual(r.data, bytesOf(w.data), name);
  }
  t.deepEqual(file.metadata, {});
});

test('metadata round trip, non-ASCII names and values, sorted names, aligned data', (t) => {
  const metadata = { format: 'x/1', 'ünï': 'ça va 😀', empty: '', json: '{"a":[1,2]}', '12': 'integer-like key' };
  const tensors = new Map<string, TensorToWrite>([
    ['b', { dtype: 'U8', shape: [1], data: Uint8Array.of(2) }],
    ['é', { dtype: 'U8', shape: [1], data: Uint8Array.of(4) }],
    ['😀', { dtype: 'U8', shape: [1], data: Uint8Array.of(5) }],
    ['\uffff', { dtype: 'U8', shape: [1], data: Uint8Array.of(6) }],
    ['B', { dtype: 'U8', shape: [1], data: Uint8Array.of(1) }],
    ['z', { dtype: 'U8', shape: [1], data: Uint8Array.of(3) }],
  ]);
  const bytes = serializeSafetensors(tensors, metadata);
  const n = Number(bytes.readBigUInt64LE(0));
  t.is(n % 8, 0);
  const header = bytes.subarray(8, 8 + n);
  t.true(header.every((b) => b >= 0x20 && b < 0x7f), 'the header is printable ASCII (escapes as Python writes them)');
  t.is(bytes.subarray(8 + n).join(','), '1,2,3,4,6,5', 'data in code point order of names (U+FFFF before U+1F600)');
  const file = parseSafetensors(bytes);
  t.deepEqual(file.metadata, metadata);
  t.deepEqual([...file.tensors.keys()], ['B', 'b', 'z', 'é', '\uffff', '😀']);
  t.is(file.tensors.get('😀')!.data[0], 5);
  // An empty metadata object is left out, so it reads back the same.
  t.deepEqual(serializeSafetensors({}, {}), serializeSafetensors({}));
  t.is(serializeSafetensors({}).toString('latin1', 8), '{}      ');
});

test('writeSafetensors and readSafetensors through a file', (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'a.safetensors');
  writeSafetensors(file, everyDType(), { k: 'v' });
  const r = readSafetensors(file);
  t.is(r.tensors.size, 15);
  t.deepEqual(r.metadata, { k: 'v' });
  t.deepEqual(fs.readdirSync(dir), ['a.safetensors']);
});

test('toFloat32 and toBigInt64 convert and copy, also from unaligned views', (t) => {
  const src = everyDType();
  const bytes = serializeSafetensors(src);
  // Every alignment of the file in its buffer, so some views are unaligned for every element size.
  for (let shift = 1; shift < 8; shift++) {
    const shifted = new Uint8Array(bytes.byteLength + shift);
    shifted.set(bytes, shift);
    const tensors = parseSafetensors(shifted.subarray(shift)).tensors;
    t.deepEqual(toFloat32(tensors.get('f32')!), src.f32.data as Float32Array);
    t.deepEqual([...toFloat32(tensors.get('f64')!)], [1.5, -2, Infinity]);
    t.deepEqual(toBigInt64(tensors.get('i64')!), src.i64.data as BigInt64Array);
    t.deepEqual([...toBigInt64(tensors.get('i32')!)], [-7n, 2n ** 31n - 1n]);
  }
  const file = parseSafetensors(bytes);
  const get = (name: string) => file.tensors.get(name)!;
  t.deepEqual([...toFloat32(get('f64'))], [1.5, -2, Infinity]);
  t.deepEqual([...toFloat32(get('f16'))], [1, -2]);
  t.deepEqual([...toFloat32(get('bf16'))], [1, -3]);
  t.deepEqual([...toFloat32(get('scalar'))], [42]);
  t.is(toFloat32(get('empty')).length, 0);
  const halves = { dtype: 'F16' as const, shape: [6], data: bytesOf(Uint16Array.of(0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00)) };
  const h = toFloat32(halves);
  t.deepEqual([...h.subarray(0, 5)], [65504, 2 ** -24, -0, Infinity, -Infinity]);
  t.true(Number.isNaN(h[5]));
  t.deepEqual(toBigInt64(get('i64')), src.i64.data as BigInt64Array);
  t.deepEqual([...toBigInt64(get('i32'))], [-7n, 2n ** 31n - 1n]);
  t.deepEqual([...toBigInt64(get('u8'))], [0n, 1n, 254n, 255n]);
  t.deepEqual([...toBigInt64(get('i8'))], [-128n, 0n, 127n]);
  t.deepEqual([...toBigInt64(get('u32'))], [2n ** 32n - 1n]);
  // A copy: changing it leaves the file buffer alone.
  const copy = toFloat32(get('f32'));
  copy[0] = 99;
  t.is(toFloat32(get('f32'))[0], 1);
  t.throws(() => toFloat32(get('i64'), 'labels'), { code: 'SENET_FORMAT', message: /toFloat32: tensor "labels": dtype: expected F32, F64, F16 or BF16, received I64/ });
  t.throws(() => toBigInt64(get('f32')), { code: 'SENET_FORMAT', message: /received F32/ });
  t.throws(() => toBigInt64(get('u64')), { code: 'SENET_FORMAT' });
  t.throws(() => toFloat32({ dtype: 'F32', shape: [3], data: new Uint8Array(8) }), { code: 'SENET_ARGUMENT' });
});

test('dtypeSize', (t) => {
  const sizes: [SafetensorsDType, number][] = [['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['I64', 8], ['I32', 4], ['I16', 2],
    ['I8', 1], ['U64', 8], ['U32', 4], ['U16', 2], ['U8', 1], ['BOOL', 1]];
  for (const [d, n] of sizes) t.is(dtypeSize(d), n, d);
  t.throws(() => dtypeSize('F8' as SafetensorsDType), { code: 'SENET_ARGUMENT' });
});

test('serialize checks its arguments', (t) => {
  const f = Float32Array.of(1, 2, 3);
  t.throws(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: f } }), {
    code: 'SENET_ARGUMENT',
    message: /serializeSafetensors: tensor "w": data: expected 16 bytes for F32 \[2, 2\], received 12 bytes/,
  });
  t.throws(() => serializeSafetensors({ w: { dtype: 'F8' as SafetensorsDType, shape: [3], data: f } }), { code: 'SENET_ARGUMENT', message: /dtype/ });
  t.throws(() => serializeSafetensors({ w: { dtype: 'F32', shape: [-3], data: f } }), { code: 'SENET_ARGUMENT', message: /shape\[0\]/ });
  t.throws(() => serializeSafetensors({ w: { dtype: 'F32', shape: [3], data: [1, 2, 3] as unknown as Float32Array } }), { code: 'SENET_ARGUMENT' });
  t.throws(() => serializeSafetensors({ __metadata__: { dtype: 'F32', shape: [3], data: f } }), { code: 'SENET_ARGUMENT' });
  t.throws(() => serializeSafetensors({}, { a: 1 as unknown as string }), { code: 'SENET_ARGUMENT', message: /metadata\["a"\]/ });
  t.throws(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data: f } }), { code: 'SENET_ARGUMENT' });
});

test('reads the PyTorch fixtures', (t) => {
  for (const fixture of FIXTURES) {
    const file = readSafetensors(fixture);
    const input = file.tensors.get('input')!;
    const labels = file.tensors.get('labels')!;
    t.is(input.dtype, 'F32');
    t.is(input.shape.length, 4);
    t.is(labels.dtype, 'I64');
    t.deepEqual(labels.shape, [Number(file.metadata.batch)]);
    t.is(input.shape[0], Number(file.metadata.batch));
    t.is(file.metadata.format, 'senet-parity/1');
    const config = JSON.parse(file.metadata.config) as { numClasses: number; stem: string };
    t.true(fixture.includes(config.stem));
    for (const l of toBigInt64(labels)) t.true(l >= 0n && l < BigInt(config.numClasses));
    t.deepEqual(file.tensors.get('expect.loss')!.shape, []);
    t.true(Number.isFinite(toFloat32(file.tensors.get('expect.loss')!)[0]));
  }
});

test('rewriting a fixture gives the same bytes', (t) => {
  for (const fixture of FIXTURES) {
    const original = fs.readFileSync(fixture);
    const file = parseSafetensors(original, fixture);
    t.true(serializeSafetensors(file.tensors, file.metadata).equals(original), path.basename(fixture));
  }
});

/** A file from raw header text (or bytes), data, and optionally a false header length. */
function raw(header: string | Uint8Array, dataBytes = 0, length?: bigint): Uint8Array {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const out = Buffer.alloc(8 + h.length + dataBytes);
  out.writeBigUInt64LE(length ?? BigInt(h.length), 0);
  out.set(h, 8);
  return out;
}

const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const json = (o: unknown) => JSON.stringify(o);

const MALFORMED: [string, Uint8Array, RegExp][] = [
  ['shorter than 8 bytes', new Uint8Array(5), /file: expected at least 8 bytes/],
  ['header length past the end', raw('{}', 0, 1000n), /header length: expected at most 2 .*received 1000/],
  ['huge header length', raw('{}', 0, 2n ** 64n - 1n), /header length: expected at most 100000000 bytes, received 18446744073709551615/],
  ['header just over the limit', raw('{}', 0, 100_000_001n), /at most 100000000 bytes/],
  ['invalid UTF-8', raw(Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)), /header: expected valid UTF-8/],
  ['a byte-order mark', raw(Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from('{}')])), /header: expected valid JSON/],
  ['invalid JSON', raw('{"a":'), /header: expected valid JSON, received a syntax error/],
  ['a JSON array', raw('[1,2]'), /header: expected a JSON object, received an array/],
  ['JSON null', raw('null'), /header: expected a JSON object, received null/],
  ['a JSON string', raw('"abc"'), /received string/],
  ['an entry that is not an object', raw(json({ a: 5 })), /tensor "a": expected an object/],
  ['unknown dtype', raw(json({ a: entry('F8', [1], [0, 1]) }), 1), /tensor "a": dtype: expected one of F64, .*received string "F8"/],
  ['dtype from the prototype', raw(json({ a: entry('constructor', [1], [0, 1]) }), 1), /dtype/],
  ['missing dtype', raw(json({ a: { shape: [1], data_offsets: [0, 1] } }), 1), /dtype: .*received undefined/],
  ['negative shape', raw(json({ a: entry('F32', [-1], [0, 4]) }), 4), /tensor "a": shape\[0\]: expected an integer >= 0, received number -1/],
  ['fractional shape', raw(json({ a: entry('F32', [1.5], [0, 6]) }), 6), /shape\[0\]/],
  ['shape not an array', raw(json({ a: entry('F32', 4, [0, 16]) }), 16), /shape: expected an array/],
  ['shape with a string', raw(json({ a: entry('F32', ['2'], [0, 8]) }), 8), /shape\[0\]/],
  ['one offset', raw(json({ a: entry('U8', [1], [0]) }), 1), /data_offsets: expected \[begin, end\]/],
  ['negative offset', raw(json({ a: entry('U8', [1], [-1, 0]) }), 1), /data_offsets/],
  ['begin after end', raw(json({ a: entry('U8', [0], [4, 0]) }), 4), /data_offsets: expected begin <= end, received \[4, 0\]/],
  ['overlapping offsets', raw(json({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }), 12), /tensor "b": data_offsets: .*must not overlap/],
  ['two tensors on the same bytes', raw(json({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }), 8), /overlap/],
  ['a gap between tensors', raw(json({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }), 12), /tensor "b": data_offsets: expected a begin of 4, .*no gap/],
  ['first tensor not at 0', raw(json({ a: entry('F32', [1], [4, 8]) }), 8), /expected a begin of 0, where the data starts \(no gap between tensors\)/],
  ['trailing bytes', raw(json({ a: entry('F32', [1], [0, 4]) }), 8), /data: expected 4 bytes \(the end of the last tensor, "a"\), received 8 bytes \(trailing bytes\)/],
  ['bytes but no tensors', raw('{}', 3), /data: expected 0 bytes \(no tensors\), received 3 bytes/],
  ['truncated data', raw(json({ a: entry('F32', [2], [0, 8]) }), 4), /truncated/],
  ['size mismatch', raw(json({ a: entry('F32', [3], [0, 8]) }), 8), /tensor "a": data_offsets: expected 12 bytes for F32 \[3\], received \[0, 8\] \(8 bytes\)/],
  ['size overflowing 2^53', raw(json({ a: entry('F32', [2 ** 52, 2 ** 52, 4], [0, 0]) })), /data_offsets: expected 324518553658426726783156020576256 bytes for F32/],
  ['metadata not an object', raw(json({ __metadata__: ['a'] })), /__metadata__: expected an object of strings, received an array/],
  ['metadata with a number', raw(json({ __metadata__: { a: 'x', b: 2 } })), /__metadata__\["b"\]: expected a string, received number 2/],
  ['metadata null', raw(json({ __metadata__: null })), /__metadata__: .*received null/],
];

for (const [name, bytes, message] of MALFORMED) {
  test(`malformed: ${name}`, (t) => {
    const err = t.throws(() => parseSafetensors(bytes, 'bad.safetensors'), { code: 'SENET_FORMAT', message });
    t.true(err?.message.startsWith('bad.safetensors: '), err?.message);
    // The process goes on: a good file still parses.
    t.is(parseSafetensors(serializeSafetensors(everyDType())).tensors.size, 15);
  });
}

test('an empty tensor may share its offset with its neighbours', (t) => {
  const bytes = raw(json({ a: entry('F32', [0], [0, 0]), b: entry('F32', [1], [0, 4]), c: entry('U8', [0, 5], [4, 4]) }), 4);
  t.is(parseSafetensors(bytes).tensors.size, 3);
});

test('random corruption gives SENET_FORMAT or a valid file, never another error', (t) => {
  const good = serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }, b: { dtype: 'I64', shape: [], data: BigInt64Array.of(3n) } }, { m: 'x' });
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const bad = Uint8Array.from(good);
    const mode = i % 3;
    if (mode === 0) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
    const cut = mode === 1 ? bad.subarray(0, Math.floor(rand() * bad.length)) : bad;
    if (mode === 2) bad[Math.floor(rand() * 8)] = Math.floor(rand() * 256);
    try {
      parseSafetensors(cut);
    } catch (err) {
      if ((err as { code?: string }).code !== 'SENET_FORMAT') return t.fail(`case ${i}: ${String(err)}`);
      rejected++;
    }
  }
  t.true(rejected > 1000);
});

test('a missing file gives SENET_IO naming the path', (t) => {
  const missing = path.join(os.tmpdir(), 'senet-no-such-file.safetensors');
  t.throws(() => readSafetensors(missing), { code: 'SENET_IO', message: new RegExp(`readSafetensors: cannot read ".*senet-no-such-file.safetensors": ENOENT`) });
  t.throws(() => readSafetensors(os.tmpdir()), { code: 'SENET_IO', message: /EISDIR/ });
});

interface PySummary {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; sum: number | string | null }>;
}

function runPython(file: string): { status: number | null; summary?: PySummary; stderr: string } {
  const r = spawnSync('python3', [PY_READER, file], { encoding: 'utf8' });
  return { status: r.status, summary: r.status === 0 ? (JSON.parse(r.stdout) as PySummary) : undefined, stderr: r.stderr };
}

function sequentialSum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

const pyTest = HAS_PYTHON ? test : test.skip;
const pySkip = HAS_PYTHON ? '' : ' (skipped: python3 not found)';

pyTest(`a file senet writes loads in Python's standard library${pySkip}`, (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'py.safetensors');
  const weights = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
  const labels = BigInt64Array.from({ length: 7 }, (_, i) => BigInt(i * 1e12) - 5n);
  const tensors: Record<string, TensorToWrite> = {
    ...everyDType(),
    'layer.weight': { dtype: 'F32', shape: [10, 10, 10], data: weights },
    labels: { dtype: 'I64', shape: [7], data: labels },
  };
  const metadata = { format: 'senet-test/1', note: 'ünïcode ✓' };
  writeSafetensors(file, tensors, metadata);
  const r = runPython(file);
  t.is(r.status, 0, r.stderr);
  const s = r.summary!;
  t.deepEqual(s.metadata, metadata);
  t.deepEqual(Object.keys(s.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, w] of Object.entries(tensors)) {
    t.is(s.tensors[name].dtype, w.dtype, name);
    t.deepEqual(s.tensors[name].shape, [...w.shape], name);
  }
  t.is(s.tensors['layer.weight'].sum, sequentialSum(weights));
  t.is(s.tensors.labels.sum, String(labels.reduce((a, b) => a + b, 0n)));
  t.is(s.tensors.scalar.sum, 42);
  t.is(s.tensors.empty.sum, 0);
});

pyTest(`the Python reader agrees on the fixtures and rejects a malformed file${pySkip}`, (t) => {
  for (const fixture of FIXTURES) {
    const r = runPython(fixture);
    t.is(r.status, 0, r.stderr);
    const ours = readSafetensors(fixture);
    t.is(r.summary!.tensors.input.sum, sequentialSum(toFloat32(ours.tensors.get('input')!)));
    t.is(r.summary!.tensors.labels.sum, String(toBigInt64(ours.tensors.get('labels')!).reduce((a, b) => a + b, 0n)));
  }
  const dir = tmpDir(t);
  const file = path.join(dir, 'gap.safetensors');
  fs.writeFileSync(file, raw(json({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }), 12));
  const r = runPython(file);
  t.is(r.status, 1);
  t.regex(r.stderr, /invalid safetensors/);
});
