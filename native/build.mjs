// `npm ci` runs this (package.json "install"): builds the native kernels addon with node-gyp
// (npm's own copy), against the Node headers npm is set to use, or /usr/include/node when Node
// came from the system. It never fails the install: without a compiler or headers the addon is
// simply absent and the wasm backend runs on its own (src/native.ts).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// Under npm, npm says where its node-gyp is; run by hand, look for npm's copy beside this Node.
const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp ?? (fs.existsSync(bundled) ? bundled : undefined);
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const command = gyp ? [process.execPath, gyp, ...args] : ['node-gyp', ...args];
const r = spawnSync(command[0], command.slice(1), { cwd: here, encoding: 'utf8' });
if (r.status === 0 && fs.existsSync(path.join(here, 'build', 'Release', 'sde_gemm.node'))) {
  console.log('sde: built the native kernels addon (native/build/Release/sde_gemm.node; AVX2, or AVX-512 where the CPU has it)');
} else {
  const why = (r.error?.message ?? `${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l)) ?? `exit ${r.status}`).trim();
  console.log(`sde: native kernels not built (${why}); the wasm backend runs on its own`);
}
