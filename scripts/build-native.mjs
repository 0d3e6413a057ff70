#!/usr/bin/env node
/**
 * Builds the native probe engine (native/probe-engine) from source with
 * node-gyp, against the headers of the running Node.js: nothing is
 * downloaded. Run by `npm install` / `npm ci` (the package's install
 * script) and by `npm run build:native`.
 *
 * At install a failed build must not fail the install: the service then
 * probes with fping and node:http, and this script says so once and exits 0.
 * With --strict (npm run build:native) a failure exits non-zero.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = path.join(root, 'native', 'probe-engine');
const addon = path.join(addonDir, 'build', 'Release', 'probe_engine.node');

function giveUp(what, details = '') {
  if (details !== '') process.stderr.write(`${details.trimEnd()}\n`);
  process.stderr.write(
    `\nWARNING: the native probe engine was not built: ${what}.\n` +
      'vim-monitor works without it, probing with fping and node:http (more CPU per check).\n' +
      'To retry after fixing the cause: npm run build:native\n\n',
  );
  process.exit(strict ? 1 : 0);
}

/** npm's own node-gyp: npm names it in lifecycle scripts; otherwise it sits inside npm next to this node. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const npm = path.join(dir, 'npm');
    if (!existsSync(npm)) continue;
    try {
      const npmRoot = path.resolve(path.dirname(realpathSync(npm)), '..');
      candidates.push(path.join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch {
      // not a link we can follow: try the next
    }
  }
  return candidates.find((file) => existsSync(file));
}

/** The Node.js headers installed with this node (include/node/node_api.h), so node-gyp never downloads them. */
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(path.join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = path.dirname(path.dirname(process.execPath));
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

if (process.platform !== 'linux') giveUp(`it needs Linux (epoll), this is ${process.platform}`);
const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) giveUp("node-gyp was not found (it comes with npm: is npm installed next to this node?)");
const nodeDir = findNodeDir();
if (nodeDir === undefined) giveUp(`the Node.js headers (include/node/node_api.h) are not installed next to ${process.execPath}`);

const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--directory', addonDir, `--nodedir=${nodeDir}`, '--release'], {
  cwd: addonDir,
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodeDir },
});
const output = `${build.stdout ?? ''}${build.stderr ?? ''}`;
if (build.error) giveUp(`node-gyp could not run (${build.error.message})`);
if (build.status !== 0 || !existsSync(addon)) {
  // What failed, without node-gyp's boilerplate (its stack, versions, command line).
  const boilerplate = /^gyp (info|ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok))/;
  const tail = output.split('\n').filter((line) => line.trim() !== '' && !boilerplate.test(line)).slice(-15).join('\n');
  giveUp(`node-gyp exited with ${build.status ?? build.signal} (a C compiler, make and python3 are needed)`, tail);
}
const warnings = output.split('\n').filter((line) => /warning:/.test(line));
if (warnings.length > 0) process.stderr.write(`${warnings.join('\n')}\n`);
process.stdout.write(`native probe engine built: ${path.relative(root, addon)}\n`);
