import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCK_FILE, newRunFolder, RunFolder } from '../../lib/train/run_folder';
import { tempDir, thrown } from '../data/helpers';

// One writer per run folder (a lock naming its pid, taken over when that process is gone), the
// temporary files of killed saves removed, and folder problems reported as SENET_IO.

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

function lockOf(pid: number, token = 'x'): string {
  return JSON.stringify({ pid, host: os.hostname(), started: '2026-01-01T00:00:00.000Z', token });
}

test('a second writer is refused naming the holder; the lock goes with release()', (t) => {
  const dir = path.join(tempDir('senet-lock-'), 'run');
  const a = RunFolder.open(dir);
  const held = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number };
  t.is(held.pid, process.pid);
  const e = thrown(() => RunFolder.open(dir, 'senet train'));
  t.is(e.code, 'SENET_IO');
  t.regex(e.message, /^senet train: .*run: expected a run folder no other run writes, received one in use by this process \(another Trainer\)/);
  a.release();
  a.release();
  t.false(fs.existsSync(path.join(dir, LOCK_FILE)));
  RunFolder.open(dir).release();
});

test('a lock held by a running process is refused naming its pid; once that process is gone it is taken over', async (t) => {
  const dir = tempDir('senet-lock-');
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(dir, LOCK_FILE), lockOf(child.pid!));
    const e = thrown(() => RunFolder.open(dir));
    t.is(e.code, 'SENET_IO');
    t.true(e.message.includes(`in use by process ${child.pid} since 2026-01-01`), e.message);
    t.true(e.message.includes(path.join(dir, LOCK_FILE)), e.message);
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  const taken = RunFolder.open(dir);
  t.is((JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number }).pid, process.pid);
  taken.release();
  // A lock that cannot be read (a writer killed while making it) is taken over too.
  fs.writeFileSync(path.join(dir, LOCK_FILE), '{"pid": 12');
  RunFolder.open(dir).release();
  // A lock from another host cannot be checked: refused, with the way out.
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'elsewhere', started: 'then', token: 'y' }));
  t.regex(thrown(() => RunFolder.open(dir)).message, /on elsewhere since then .*if that run has ended, remove /);
});

test('a process that exits however it exits leaves no lock', (t) => {
  const dir = tempDir('senet-lock-');
  const lib = path.join(__dirname, '..', '..', 'lib', 'train', 'run_folder');
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(lib)}).RunFolder.open(${JSON.stringify(dir)}); process.exit(130)`]);
  t.is(r.status, 130, r.stderr.toString());
  t.false(fs.existsSync(path.join(dir, LOCK_FILE)));
});

test('opening a folder removes the temporary files that killed saves left, and nothing else', (t) => {
  const dir = tempDir('senet-stale-');
  const dead = path.join(dir, `.checkpoint.safetensors.${deadPid()}.k3j5h7g9.tmp`);
  const alive = path.join(dir, `.checkpoint.safetensors.${process.pid}.a1b2c3d4.tmp`);
  const other = path.join(dir, 'notes.txt');
  fs.writeFileSync(dead, Buffer.alloc(1000));
  fs.writeFileSync(alive, 'x');
  fs.writeFileSync(other, 'keep');
  const folder = RunFolder.open(dir);
  t.deepEqual(folder.removedTemporaryFiles, { files: [dead], bytes: 1000 });
  t.false(fs.existsSync(dead));
  t.true(fs.existsSync(alive), "a running writer's file stays");
  t.true(fs.existsSync(other));
  folder.release();
});

test('folders that cannot be made are SENET_IO saying why, not a bare ENOTDIR or EEXIST', (t) => {
  const root = tempDir('senet-mkdir-');
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, '');
  const under = thrown(() => RunFolder.open(path.join(file, 'run'), 'senet train'));
  t.is(under.code, 'SENET_IO');
  t.is(under.message, `senet train: ${path.join(file, 'run')}: cannot create the run folder: ${file} is a file, not a folder`);
  const itself = thrown(() => RunFolder.open(file, 'senet train'));
  t.is(itself.code, 'SENET_IO');
  t.regex(itself.message, /a-file: cannot create the run folder: .*a-file is a file, not a folder/);
  t.is(thrown(() => RunFolder.open('')).code, 'SENET_ARGUMENT');
});

test('newRunFolder: a folder per run named by its start, and latest pointing at the newest', (t) => {
  const root = path.join(tempDir('senet-runs-'), 'runs');
  const now = new Date(2026, 10, 30, 9, 5, 7);
  const a = newRunFolder('test', root, now);
  const b = newRunFolder('test', root, now);
  t.is(a.dir, path.join(root, '20261130-090507'));
  t.is(b.dir, path.join(root, '20261130-090507-2'));
  t.is(a.note, undefined);
  t.is(fs.realpathSync(path.join(root, 'latest')), fs.realpathSync(b.dir));
  // An older senet's runs/latest folder is left alone, and said so.
  const old = path.join(tempDir('senet-runs-'), 'runs');
  fs.mkdirSync(path.join(old, 'latest'), { recursive: true });
  fs.writeFileSync(path.join(old, 'latest', 'metrics.jsonl'), '{}\n');
  const c = newRunFolder('test', old, now);
  t.regex(c.note ?? '', /latest is a folder \(an older senet's run\), left as it is; this run is in .*20261130-090507/);
  t.true(fs.existsSync(path.join(old, 'latest', 'metrics.jsonl')));
});
