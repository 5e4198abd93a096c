/**
 * Run folders: one writer at a time, and no run silently mixed into another.
 *
 * - A folder is held through a lock file, `.senet.lock`, holding the writer's pid, host and start
 *   time. A second writer is refused with SENET_IO naming that pid; a lock whose process is gone
 *   (killed, crashed) is taken over. The lock goes when the writer releases it or its process exits.
 * - Opening a folder removes the temporary files that saves killed mid-write left there.
 * - `newRunFolder` makes a fresh folder per run, `runs/<date>-<time>`, and points `runs/latest` at it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SenetError } from '../errors';
import { processAlive, removeStaleTemporaryFiles, systemMessage } from '../io';
import { checkRule } from '../validate';

/** The lock file's name inside a run folder. */
export const LOCK_FILE = '.senet.lock';

/** The files a run writes into its folder. */
export const RUN_FILES = ['checkpoint.safetensors', 'metrics.jsonl', 'curves.svg'] as const;

/** What a lock file holds. */
interface LockHolder {
  pid: number;
  host: string;
  started: string;
  token: string;
}

/** Locks this process holds, released when it exits however it exits (a second Ctrl-C included). */
const held = new Set<RunFolder>();
let exitHook = false;

/** A run folder this process writes, created if needed and locked against other writers. */
export class RunFolder {
  /** The folder, as given. */
  readonly dir: string;
  /** Temporary files of killed saves that opening the folder removed, and their bytes. */
  readonly removedTemporaryFiles: { files: string[]; bytes: number };
  private readonly lockPath: string;
  private readonly token: string;

  private constructor(dir: string, lockPath: string, token: string, removed: { files: string[]; bytes: number }) {
    this.dir = dir;
    this.lockPath = lockPath;
    this.token = token;
    this.removedTemporaryFiles = removed;
  }

  /**
   * Creates `dir` if needed and locks it. SENET_IO naming the folder if it cannot be created or
   * written (a file in the way, no permission, a read-only file system), or if another writer
   * holds it (naming its pid).
   */
  static open(dir: string, where = 'RunFolder.open'): RunFolder {
    checkRule(where, 'dir', dir, { kind: 'path' });
    makeFolder(where, dir);
    const lockPath = path.join(dir, LOCK_FILE);
    const token = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), token };
    for (let attempt = 0; ; attempt++) {
      const other = tryLock(where, lockPath, holder);
      if (!other) break;
      if (attempt < 3 && other.host === holder.host && !processAlive(other.pid) && takeOver(lockPath, other)) continue;
      throw inUse(where, dir, lockPath, other);
    }
    // Holding the lock, every temporary file of a dead writer here is garbage.
    const folder = new RunFolder(dir, lockPath, token, removeStaleTemporaryFiles(dir));
    held.add(folder);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const f of held) f.release();
      });
    }
    return folder;
  }

  /** The run files (checkpoint, metrics, curves) the folder holds now. */
  runFiles(): string[] {
    return RUN_FILES.filter((f) => fs.existsSync(path.join(this.dir, f)));
  }

  /** Removes the run files, so that a new run starts from an empty folder (--overwrite). */
  clearRunFiles(where: string): void {
    for (const f of this.runFiles()) {
      try {
        fs.unlinkSync(path.join(this.dir, f));
      } catch (err) {
        throw new SenetError('SENET_IO', `${where}: ${path.join(this.dir, f)}: cannot remove the previous run's file: ${systemMessage(err)}`);
      }
    }
  }

  /** Gives the folder up (removes the lock if it is still this holder's). Safe to call twice. */
  release(): void {
    if (!held.delete(this)) return;
    const holder = readHolder(this.lockPath);
    if (holder?.token !== this.token) return;
    try {
      fs.unlinkSync(this.lockPath);
    } catch {
      // Already gone: nothing to give up.
    }
  }
}

/**
 * A new folder for one run under `root`: `<root>/<yyyymmdd-hhmmss>` (with `-2`, `-3`… when that
 * exists), and `<root>/latest` made a link to it. A `latest` that is a real folder (an older
 * senet's) is left alone; the returned `note` says so.
 */
export function newRunFolder(where: string, root: string, now = new Date()): { dir: string; note?: string } {
  makeFolder(where, root);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p2(now.getMonth() + 1)}${p2(now.getDate())}-${p2(now.getHours())}${p2(now.getMinutes())}${p2(now.getSeconds())}`;
  let name = stamp;
  for (let n = 2; ; n++) {
    try {
      fs.mkdirSync(path.join(root, name));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw cannotCreate(where, path.join(root, name), err);
      name = `${stamp}-${n}`;
    }
  }
  const dir = path.join(root, name);
  return { dir, note: pointLatest(root, name) };
}

/** Points `<root>/latest` at `name` (replacing a previous link atomically); a note if it cannot. */
function pointLatest(root: string, name: string): string | undefined {
  const latest = path.join(root, 'latest');
  const tmp = path.join(root, `.latest.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    // A junction on Windows needs no privilege and an absolute target.
    if (process.platform === 'win32') fs.symlinkSync(path.resolve(root, name), tmp, 'junction');
    else fs.symlinkSync(name, tmp);
    fs.renameSync(tmp, latest);
    return undefined;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const isFolder = fs.lstatSync(latest, { throwIfNoEntry: false })?.isDirectory() === true;
    return isFolder
      ? `${latest} is a folder (an older senet's run), left as it is; this run is in ${path.join(root, name)}`
      : `${latest} could not be pointed at ${name}: ${systemMessage(err)}`;
  }
}

/** Creates `dir` (and its parents), or throws SENET_IO saying why not in plain terms. */
function makeFolder(where: string, dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw cannotCreate(where, dir, err);
  }
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new SenetError('SENET_IO', `${where}: ${dir}: expected a folder, received a file`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new SenetError('SENET_IO', `${where}: ${dir}: expected a folder this process can write, received one it cannot (${systemMessage(err)})`);
  }
}

/**
 * Node's errors of a recursive mkdir can mislead (a read-only mount is reported as ENOENT): the
 * deepest part of the path that exists says what is wrong.
 */
function cannotCreate(where: string, dir: string, err: unknown): SenetError {
  let reason = systemMessage(err);
  const statOf = (p: string) => {
    try {
      return fs.statSync(p);
    } catch {
      return undefined; // missing, or under a file (ENOTDIR): look further up
    }
  };
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    const stat = statOf(p);
    if (stat) {
      if (!stat.isDirectory()) reason = `${p} is a file, not a folder`;
      else {
        try {
          fs.accessSync(p, fs.constants.W_OK);
        } catch (e) {
          reason = `${p} cannot be written (${systemMessage(e)})`;
        }
      }
      break;
    }
    if (path.dirname(p) === p) break;
  }
  return new SenetError('SENET_IO', `${where}: ${dir}: cannot create the run folder: ${reason}`);
}

/**
 * Creates the lock holding `holder`, complete or not at all (a hard link of a written file, where
 * the file system has them). Returns undefined when it is ours, or the holder that was there.
 */
function tryLock(where: string, lockPath: string, holder: LockHolder): LockHolder | undefined {
  const text = `${JSON.stringify(holder)}\n`;
  const tmp = `${lockPath}.${holder.token}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    try {
      fs.linkSync(tmp, lockPath);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
        // No hard links here: an exclusive create, written at once.
        try {
          fs.writeFileSync(lockPath, text, { flag: 'wx' });
          return undefined;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
    }
  } catch (err) {
    throw new SenetError('SENET_IO', `${where}: ${lockPath}: cannot create the lock file: ${systemMessage(err)}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // A lock that cannot be read is a writer that died while making it, or a stranger's file.
  return readHolder(lockPath) ?? { pid: 0, host: os.hostname(), started: 'unknown', token: '' };
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.token !== 'string') return undefined;
    return { pid: h.pid, host: h.host, started: typeof h.started === 'string' ? h.started : 'unknown', token: h.token };
  } catch {
    return undefined;
  }
}

/**
 * Removes the lock of a dead holder: moved aside first, so that of two processes taking over
 * the same stale lock only one succeeds, and a fresh lock moved by mistake is put back.
 */
function takeOver(lockPath: string, stale: LockHolder): boolean {
  const aside = `${lockPath}.stale.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  try {
    fs.renameSync(lockPath, aside);
  } catch {
    return true; // gone already: try again
  }
  const moved = readHolder(aside);
  if (moved !== undefined && moved.token !== stale.token) {
    try {
      fs.linkSync(aside, lockPath);
    } catch {
      // Someone locked it meanwhile; theirs stands.
    }
    fs.rmSync(aside, { force: true });
    return false;
  }
  fs.rmSync(aside, { force: true });
  return true;
}

function inUse(where: string, dir: string, lockPath: string, other: LockHolder): SenetError {
  const who = other.pid === process.pid ? 'this process (another Trainer)' : `process ${other.pid}`;
  const remote = other.host !== os.hostname();
  const advice = remote
    ? `if that run has ended, remove ${lockPath}`
    : 'wait for it to end or choose another run folder';
  return new SenetError(
    'SENET_IO',
    `${where}: ${dir}: expected a run folder no other run writes, received one in use by ${who}${remote ? ` on ${other.host}` : ''} since ${other.started} (lock file ${lockPath}); ${advice}`,
  );
}
