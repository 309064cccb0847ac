#!/usr/bin/env bash
# Installs sde as a user would: packs the tarball, installs it into an empty project in a temp
# folder, runs the installed CLI (`npx sde --version`), then type-checks (tsc, strict, NodeNext)
# and runs a TypeScript program that imports the public API from 'sde' and samples an oracle
# mixture with integrate. Also checks what the tarball holds and that internals are not importable.
# Usage: scripts/pack-test.sh   (from anywhere; needs the npm registry for the dependencies)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sde-pack-test.XXXXXX")"
[ "${SDE_PACK_TEST_KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
fail() { echo "pack-test: $*" >&2; exit 1; }
start=$SECONDS

# 1. Pack. npm runs `prepare` (tsc) first, so dist/ matches the sources; with
#    SDE_PACK_TEST_BUILT=1 the existing dist/ is packed as it is (when the caller just built it).
pack_args=(--pack-destination "$tmp")
[ "${SDE_PACK_TEST_BUILT:-0}" = 1 ] && pack_args+=(--ignore-scripts)
(cd "$root" && npm pack "${pack_args[@]}" >"$tmp/pack.log" 2>&1) || { cat "$tmp/pack.log" >&2; fail "npm pack failed"; }
version="$(node -p "require('$root/package.json').version")"
tarball="$tmp/sde-$version.tgz"
[ -f "$tarball" ] || fail "npm pack wrote no $tarball"

# 2. What the tarball holds: dist, the native sources, README, LICENSE; no tests, sources, CI or maps.
contents="$(tar -tzf "$tarball")"
for f in package/package.json package/README.md package/LICENSE package/dist/src/index.js package/dist/src/index.d.ts \
  package/dist/cli/main.js package/native/sde_gemm.c package/native/binding.gyp package/native/build.mjs; do
  grep -qx "$f" <<<"$contents" || fail "the tarball lacks $f"
done
if bad="$(grep -E '^package/(test|\.ci|src|cli|bench|examples|scripts|docs)/|\.map$|^package/dist/src/.*\.test\.|^package/native/build/' <<<"$contents")"; then
  fail "the tarball holds files it should not: $(head -5 <<<"$bad" | tr '\n' ' ')"
fi

# 3. An empty project that installs the tarball (its install script builds the native kernels
#    when a compiler is there; the optional tfjs-node packages are left out: they download
#    libtensorflow, which is no part of what is tested here).
mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
npm pkg set type=module
npm install --no-audit --no-fund --omit=optional "$tarball" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "npm install of the tarball failed"; }
# Informative only: without a compiler the package runs on the wasm backend alone.
if [ -f node_modules/sde/native/build/Release/sde_gemm.node ]; then echo "pack-test: the install script built the native kernels"
else echo "pack-test: the install script did not build the native kernels (no compiler or Node headers?)"; fi

# 4. The installed CLI.
got="$(npx --no-install sde --version)"
[ "$got" = "$version" ] || fail "npx sde --version printed '$got', expected '$version'"

# 5. Internals are not reachable by a deep import.
if node --input-type=module -e "await import('sde/dist/src/oracle/score.js')" 2>/dev/null; then
  fail "a deep import of sde/dist/src/oracle/score.js worked; only the entry point should be exported"
fi

# 6. A TypeScript program on the public API: type-checked with this repository's tsc (strict,
#    NodeNext; skipLibCheck as tfjs needs: its own .d.ts files do not pass strict checks), then run.
cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "skipLibCheck": true,
    "types": [],
    "outDir": "out"
  },
  "files": ["main.ts"]
}
JSON
cat >main.ts <<'TS'
import { expectedNfe, integrate, makeSDE, mixtureCovariance, mixtureMean, mixtureScore, packageVersion, sampleMixture, configureRuntime, slicedWasserstein, type GaussianMixture, type Points, type SolveResult } from 'sde';

const backend = await configureRuntime({ backend: 'auto' });
const mix: GaussianMixture = { weights: [0.3, 0.7], means: [[-2, 0], [2, 1]], stds: [0.4, 0.5] };
const sde = makeSDE({ sde: 'vp' });
const score = mixtureScore(sde, mix);
const n = 1000;
const steps = 50;
const result: SolveResult = integrate(sde, score, 'ode-heun', { shape: [n, 2], steps, seed: 3 });
const samples = result.x.arraySync() as Points;
result.x.dispose();
const exact = sampleMixture(mix, n, 11);
const reference = exact.x.arraySync() as Points;
exact.x.dispose();
score.dispose();
const mean = [0, 1].map((j) => samples.reduce((s, p) => s + p[j], 0) / n);
const std = [0, 1].map((j) => Math.sqrt(samples.reduce((s, p) => s + (p[j] - mean[j]) ** 2, 0) / (n - 1)));
console.log(JSON.stringify({
  version: packageVersion(),
  backend: backend.backend,
  n: samples.length,
  finite: samples.every((p) => p.length === 2 && p.every(Number.isFinite)),
  nfe: result.nfe,
  expectedNfe: expectedNfe('ode-heun', { steps }),
  mean,
  exactMean: mixtureMean(mix),
  std,
  exactStd: mixtureCovariance(mix).map((row, j) => Math.sqrt(row[j])),
  leftFraction: samples.filter((p) => p[0] < 0).length / n,
  sw2: slicedWasserstein(samples, reference, 128, 0),
}));
TS
node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json
node out/main.js >result.json
node --input-type=module - "$version" <<'JS'
import fs from 'node:fs';
const r = JSON.parse(fs.readFileSync('result.json', 'utf8'));
const version = process.argv[2];
const problems = [];
if (r.version !== version) problems.push(`packageVersion() = ${r.version}, expected ${version}`);
if (r.n !== 1000) problems.push(`${r.n} samples, expected 1000`);
if (!r.finite) problems.push('non-finite or misshapen samples');
if (r.nfe !== r.expectedNfe) problems.push(`NFE ${r.nfe}, expected ${r.expectedNfe}`);
// Of 1000 draws, the share in the left component (weight 0.3) has a standard error of 0.015,
// the mean one of about 0.06 per coordinate (stds 1.9 and 0.7), a std one of under 3%.
if (Math.abs(r.leftFraction - 0.3) > 0.06) problems.push(`share of samples with x < 0: ${r.leftFraction}, exact 0.3`);
r.mean.forEach((m, j) => { if (Math.abs(m - r.exactMean[j]) > 0.25) problems.push(`mean[${j}] = ${m}, exact ${r.exactMean[j]}`); });
r.std.forEach((s, j) => { if (Math.abs(s / r.exactStd[j] - 1) > 0.12) problems.push(`std[${j}] = ${s}, exact ${r.exactStd[j]}`); });
// Sliced W2 between two independent 1000-point exact samples of this mixture spans 0.24-0.45
// (it is noisy); the prior N(0, I) is 1.04 away, the mixture with equal weights 0.83.
if (!(r.sw2 < 0.6)) problems.push(`sliced W2 to exact draws ${r.sw2}, expected < 0.6`);
if (problems.length) { console.error(`pack-test: ${problems.join('; ')}`); process.exit(1); }
console.log(`pack-test: ok (backend ${r.backend}, ${r.n} samples, NFE ${r.nfe}, sliced W2 ${r.sw2.toFixed(3)})`);
JS
echo "pack-test: passed in $((SECONDS - start)) s"
