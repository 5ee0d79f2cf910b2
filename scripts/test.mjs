#!/usr/bin/env node
// `npm test`: type-checks, then runs every Vitest suite (unit, Node GPU on Dawn/SwiftShader, and
// browser tests that drive Chromium through Playwright), and ends with one line
// `N passed, N failed, N skipped` totalled over all of them. Exits non-zero on any failure.
//
// Chromium is looked for in $MULTIPLEX_CHROMIUM, $CHROMIUM_PATH, /usr/bin/chromium, then
// Playwright's own browsers. Where none exists it installs Debian's (as root) or stops with one
// sentence saying how. Browsers are never downloaded by Playwright.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const env = { ...process.env };

function findChromium() {
  const candidates = [env.MULTIPLEX_CHROMIUM, env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return undefined;
}

async function playwrightChromium() {
  try {
    const { chromium } = await import('playwright-core');
    const p = chromium.executablePath();
    return p && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

let chromium = findChromium() ?? (await playwrightChromium());
if (!chromium) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.error('No Chromium found: installing Debian\'s chromium package (apt-get install -y chromium)...');
    const opts = { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } };
    spawnSync('apt-get', ['update'], opts);
    spawnSync('apt-get', ['install', '-y', 'chromium'], opts);
    chromium = findChromium();
  }
  if (!chromium) {
    console.error(
      'No Chromium found: install one (as root: `apt-get install -y chromium`) or set MULTIPLEX_CHROMIUM to its path, then run `npm test` again.',
    );
    process.exit(1);
  }
}
env.MULTIPLEX_CHROMIUM = chromium;

// Dawn (the `webgpu` package) needs libvulkan.so.1; Debian's chromium ships one beside
// SwiftShader, so point the loader there when the system has none.
const ldconfig = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
if (!(ldconfig.stdout ?? '').includes('libvulkan.so.1') && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
  env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

let passed = 0;
let failed = 0;
let skipped = 0;

// 1. Type check (counted as one check).
if (!args.includes('--no-typecheck')) {
  const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '--noEmit', '-p', root], {
    stdio: 'inherit',
    env,
    cwd: root,
  });
  if (tsc.status === 0) {
    passed++;
    console.log('typecheck: ok');
  } else {
    failed++;
    console.log('typecheck: FAILED');
  }
}

// 2. Vitest in two phases (vitest.config.ts): 'main', every suite two files at a time; then
//    'solo', the timing-fidelity tests, alone on the machine.
//    Projects named on the command line (--project NAME) pick the phases that run; other
//    arguments (file filters, -t) go to each phase. A phase whose filters match no file runs
//    nothing, but a run in which no phase found a test file counts as a failure.
const named = [];
const passArgs = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--no-typecheck') continue;
  if (a === '--project' && i + 1 < args.length) named.push(args[++i]);
  else if (a.startsWith('--project=')) named.push(a.slice('--project='.length));
  else passArgs.push(a);
}
let testFiles = 0;
function vitestPhase(project) {
  const report = `${root}.vitest-report.${project}.json`;
  rmSync(report, { force: true });
  const vitestArgs = [
    `${root}node_modules/vitest/vitest.mjs`,
    'run',
    `--project=${project}`,
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...passArgs,
  ];
  const vt = spawnSync(process.execPath, vitestArgs, { stdio: 'inherit', env, cwd: root });
  let phaseFailed = 0;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    testFiles += (r.testResults ?? []).length;
    passed += r.numPassedTests ?? 0;
    phaseFailed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A suite that failed to load has no tests in the counts: count it as a failure.
    for (const f of r.testResults ?? []) {
      if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) {
        phaseFailed++;
        console.log(`failed to run: ${f.name}: ${(f.message ?? '').split('\n')[0]}`);
      }
    }
    rmSync(report, { force: true });
  } else {
    phaseFailed++;
    console.log(`vitest (${project}) produced no report (exit ${vt.status})`);
  }
  if (vt.status !== 0 && phaseFailed === 0) {
    phaseFailed++;
    console.log(`vitest (${project}) exited with ${vt.status}`);
  }
  failed += phaseFailed;
}
const phases = named.length ? named : ['main', 'solo'];
for (const p of phases) {
  if (!['main', 'solo'].includes(p)) {
    failed++;
    console.log(`unknown project "${p}" (the projects are main and solo: vitest.config.ts)`);
  } else vitestPhase(p);
}
if (testFiles === 0) {
  failed++;
  console.log(`no test file matched${passArgs.length ? `: ${passArgs.join(' ')}` : ''}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
