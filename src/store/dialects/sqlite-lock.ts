import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { ConfigurationError } from '../../errors.js';

/**
 * One process per SQLite file: a second worker on the same file would run
 * every monitor twice, and SQLite has no row locks to split them. The lock
 * is a file beside the database naming the owning pid; a lock whose process
 * is gone (a crash, SIGKILL) is taken over.
 */
const heldHere = new Map<string, number>();

export function lockSqliteFile(databaseFile: string): () => void {
  const lockFile = `${databaseFile}.lock`;
  const release = (): void => {
    const count = (heldHere.get(lockFile) ?? 1) - 1;
    if (count > 0) heldHere.set(lockFile, count);
    else {
      heldHere.delete(lockFile);
      rmSync(lockFile, { force: true });
    }
  };
  const held = heldHere.get(lockFile);
  if (held !== undefined) {
    // A second store on the same file in this process (tests, db upgrade): share the lock.
    heldHere.set(lockFile, held + 1);
    return release;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.set(lockFile, 1);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    if (Number.isInteger(holder) && alive(holder)) {
      throw new ConfigurationError(
        `database file ${databaseFile} is in use by process ${holder}: one vim-monitor process per SQLite file; use PostgreSQL or MariaDB (database.url) to run several workers`,
      );
    }
    rmSync(lockFile, { force: true }); // stale: its process is gone
  }
  throw new ConfigurationError(`cannot take the lock ${lockFile}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
