/**
 * Crash-safe file replacement: a reader (or a restarted process) sees either the old complete
 * file or the new complete one, never a torn mix, whenever the writer is killed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SenetError } from '../errors';
import { describe, fail } from '../validate';

/**
 * A temporary name for `target`: a dot file in the same folder (a rename is only atomic within
 * one file system), unique per process and call.
 */
function temporaryPathFor(target: string): string {
  const suffix = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${suffix}.tmp`);
}

/** What `temporaryPathFor` names: `.<target>.<pid>.<8 characters>.tmp`. */
const TEMPORARY_NAME = /^\.(.+)\.(\d+)\.[0-9a-z]{8}\.tmp$/;

/** Whether process `pid` exists (on this machine); EPERM means it does, under another user. */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that atomic writes of processes no longer running left in `dir`
 * (a save killed mid-write leaves one as large as the file it was writing). Files of running
 * processes, and every other file, are left alone. Returns the paths removed and their bytes.
 * Blocking (a folder listing and a few unlinks).
 */
export function removeStaleTemporaryFiles(dir: string): { files: string[]; bytes: number } {
  const removed = { files: [] as string[], bytes: 0 };
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMPORARY_NAME.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    const file = path.join(dir, name);
    try {
      const { size } = fs.statSync(file);
      fs.unlinkSync(file);
      removed.files.push(file);
      removed.bytes += size;
    } catch {
      // Gone already, or not ours to remove: nothing is lost by leaving it.
    }
  }
  return removed;
}

/**
 * Writes `data` (or the concatenation of chunks, which spares a copy of large files) to `target`
 * atomically: into a temporary file in the same folder, fsynced, renamed over `target`, then the
 * folder fsynced so that the rename itself survives a power cut.
 * On failure the temporary file is removed and a `SENET_IO` error names the path and the system
 * error. A process killed (SIGKILL) mid-write leaves its temporary file (`.<name>.<pid>.<random>.tmp`)
 * behind, but `target` is untouched.
 * Blocking: the event loop stops until the data is on disk; `writeFileAtomicAsync` does not block.
 */
export function writeFileAtomic(target: string, data: Uint8Array | Buffer | readonly Uint8Array[]): void {
  if (typeof target !== 'string') fail('SENET_ARGUMENT', 'writeFileAtomic', 'path', 'a string', describe(target));
  let tmp = '';
  let fd = -1;
  try {
    // 'wx' refuses an existing file, so a (very unlikely) name clash retries instead of sharing.
    for (let attempt = 0; fd < 0; attempt++) {
      tmp = temporaryPathFor(target);
      try {
        fd = fs.openSync(tmp, 'wx', 0o666);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) {
          tmp = '';
          throw err;
        }
      }
    }
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      // writeSync may write less than asked (large buffers, signals), so loop until done.
      for (let off = 0; off < chunk.byteLength; ) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, target);
    tmp = '';
    syncFolder(path.dirname(path.resolve(target)));
  } catch (err) {
    if (fd >= 0) closeQuietly(fd);
    if (tmp) removeQuietly(tmp);
    throw cannotWrite('writeFileAtomic', target, err);
  }
}

/**
 * As `writeFileAtomic`, with the same guarantees and errors, without blocking the event loop: every
 * step (open, write, fsync, close, rename, fsync of the folder) runs on libuv's thread pool through
 * fs.promises. The bytes of `data` are read while the promise is pending, so they must not change
 * (nor their memory be freed) until it settles; copy them first to keep using them meanwhile.
 */
export async function writeFileAtomicAsync(target: string, data: Uint8Array | Buffer | readonly Uint8Array[]): Promise<void> {
  const where = 'writeFileAtomicAsync';
  if (typeof target !== 'string') fail('SENET_ARGUMENT', where, 'path', 'a string', describe(target));
  let tmp = '';
  let handle: fs.promises.FileHandle | undefined;
  try {
    for (let attempt = 0; handle === undefined; attempt++) {
      tmp = temporaryPathFor(target);
      try {
        handle = await fs.promises.open(tmp, 'wx', 0o666);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) {
          tmp = '';
          throw err;
        }
      }
    }
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      for (let off = 0; off < chunk.byteLength; ) off += (await handle.write(chunk, off, chunk.byteLength - off)).bytesWritten;
    }
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    await fs.promises.rename(tmp, target);
    tmp = '';
    await syncFolderAsync(path.dirname(path.resolve(target)));
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    if (tmp) await fs.promises.unlink(tmp).catch(() => undefined);
    throw cannotWrite(where, target, err);
  }
}

function cannotWrite(where: string, target: string, err: unknown): SenetError {
  return new SenetError('SENET_IO', `${where}: cannot write ${JSON.stringify(target)}: ${systemMessage(err)}`);
}

/** A system error as "ENOENT: no such file or directory, open '…'" (Node's messages mostly start with the code). */
export function systemMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = e instanceof Error ? e.message : String(err);
  return e.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

/** Errors of opening or fsyncing a folder on platforms that cannot (Windows): the rename is all they offer. */
function cannotSyncFolders(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF' || code === 'EACCES';
}

/** Fsyncs a folder; platforms that cannot are skipped. */
function syncFolder(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    if (!cannotSyncFolders(err)) throw err;
  } finally {
    if (fd >= 0) closeQuietly(fd);
  }
}

/** As `syncFolder`, without blocking. */
async function syncFolderAsync(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!cannotSyncFolders(err)) throw err;
  } finally {
    if (handle !== undefined) await handle.close().catch(() => undefined);
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already reporting the first error.
  }
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Already reporting the first error; nothing more can be done.
  }
}
