import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The version of the installed sde package, read at run time from its package.json (found by
 * walking up from this file, so it works from src/ under a test runner and from dist/src/ when
 * installed). Throws when no package.json named "sde" lies above this file.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'sde' && typeof pkg.version === 'string') return (cached = pkg.version);
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`packageVersion: no package.json of sde above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
