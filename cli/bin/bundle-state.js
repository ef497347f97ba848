'use strict';
// Whether cli/dist holds a bundle built from the current sources: shared by the `kvplan` bin
// (which falls back to the TypeScript sources otherwise), the bundler and the test that checks
// the bundle is fresh. Plain JavaScript: it runs before anything is compiled.
const fs = require('node:fs');
const path = require('node:path');

const cliDir = path.join(__dirname, '..');
const repoRoot = path.join(cliDir, '..');
const distDir = path.join(cliDir, 'dist');
/** Written last by the bundler: when it started and every source file it read. */
const manifestFile = path.join(distDir, 'inputs.json');

/**
 * { fresh: true } or { fresh: false, reason } (missing bundle, or the first source newer than it).
 * `manifest` is the bundler's inputs.json (tests point it elsewhere).
 */
function bundleState(manifestPath = manifestFile) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch {
    return { fresh: false, reason: 'no bundle in cli/dist' };
  }
  for (const rel of manifest.inputs) {
    let st;
    try {
      st = fs.statSync(path.join(repoRoot, rel));
    } catch {
      return { fresh: false, reason: `${rel}, which the bundle was built from, is gone` };
    }
    if (st.mtimeMs > manifest.startedAtMs) return { fresh: false, reason: `${rel} is newer than the bundle` };
  }
  return { fresh: true };
}

module.exports = { bundleState, cliDir, repoRoot, distDir, manifestFile };
