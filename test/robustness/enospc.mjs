// Preloaded into a CLI process (`node --import`) by the disk-full tests: the nth write of a
// temporary file whose target matches fails like a full disk, after writing half of the data.
// SDE_ENOSPC_AT is JSON: {"file": "^ema-", "nth": 2}.
import fs from 'node:fs';
import path from 'node:path';

const spec = JSON.parse(process.env.SDE_ENOSPC_AT ?? 'null');
if (spec) {
  const pattern = new RegExp(spec.file);
  let seen = 0;
  const targetOf = (p) => path.basename(String(p)).replace(/^\.(.+)\.\d+\.tmp$/, '$1');
  const { openSync, writeFileSync, appendFileSync } = fs;
  const fds = new Map();
  const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  fs.openSync = (p, ...rest) => {
    const fd = openSync(p, ...rest);
    fds.set(fd, targetOf(p));
    return fd;
  };
  fs.writeFileSync = (file, data, ...rest) => {
    if (typeof file === 'number' && fds.has(file) && pattern.test(fds.get(file)) && ++seen === spec.nth) {
      fs.writeSync(file, typeof data === 'string' ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1));
      throw full();
    }
    return writeFileSync(file, data, ...rest);
  };
  fs.appendFileSync = (file, data, ...rest) => {
    if (typeof file !== 'number' && pattern.test(path.basename(String(file))) && ++seen === spec.nth) {
      appendFileSync(file, String(data).slice(0, String(data).length >> 1));
      throw full();
    }
    return appendFileSync(file, data, ...rest);
  };
}
