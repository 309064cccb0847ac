// Preloaded into a CLI process (`node --import`) by the crash tests: SIGKILLs the process at a
// chosen moment of a file write, as a crash or `kill -9` would. SDE_KILL_AT is JSON:
//   {"mode": "rename", "file": "^config\\.json$", "nth": 3}  just before the 3rd rename of a
//     temporary file onto a file whose name matches (the new content is written and fsynced);
//   {"mode": "write", "file": "^ema-", "nth": 1}  after writing half of the 1st matching file's
//     temporary file (a torn write).
import fs from 'node:fs';
import path from 'node:path';

const spec = JSON.parse(process.env.SDE_KILL_AT ?? 'null');
if (spec) {
  const pattern = new RegExp(spec.file);
  let seen = 0;
  const hit = (target) => pattern.test(path.basename(target)) && ++seen === spec.nth;
  const die = () => {
    process.kill(process.pid, 'SIGKILL');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never returns to finish the write
  };
  // The target of a temporary file `.NAME.PID.tmp` is NAME.
  const targetOf = (p) => path.basename(String(p)).replace(/^\.(.+)\.\d+\.tmp$/, '$1');
  const { openSync, renameSync, writeFileSync } = fs;
  const fds = new Map();
  fs.openSync = (p, ...rest) => {
    const fd = openSync(p, ...rest);
    fds.set(fd, targetOf(p));
    return fd;
  };
  if (spec.mode === 'rename') {
    fs.renameSync = (from, to) => {
      if (hit(String(to))) die();
      return renameSync(from, to);
    };
  } else {
    fs.writeFileSync = (file, data, ...rest) => {
      if (typeof file === 'number' && fds.has(file) && typeof data !== 'string' && hit(fds.get(file))) {
        fs.writeSync(file, data, 0, data.length >> 1);
        fs.fsyncSync(file);
        die();
      }
      return writeFileSync(file, data, ...rest);
    };
  }
}
