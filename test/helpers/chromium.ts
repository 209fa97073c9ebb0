/**
 * The headless Chromium the browser test drives: `KMSFLOW_CHROMIUM`, else Debian's `chromium`. On a machine
 * without it the test installs Debian's package once (as root, through apt, like every other tool comes
 * from a package registry); never a browser downloaded from elsewhere.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export function findOrInstallChromium(log: (line: string) => void = console.log): string {
  const configured = process.env.KMSFLOW_CHROMIUM?.trim();
  if (configured) {
    if (!fs.existsSync(configured))
      throw new Error(`KMSFLOW_CHROMIUM names ${configured}, which does not exist.`);
    return configured;
  }
  if (fs.existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  const root = process.getuid?.() === 0;
  if (!root || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `No headless Chromium: install Debian's (sudo apt-get install -y chromium), or name one with KMSFLOW_CHROMIUM.`,
    );
  }
  log("Installing Debian's chromium for the browser test (once) ...");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!fs.existsSync(DEBIAN_CHROMIUM))
    throw new Error(`apt-get installed chromium, but ${DEBIAN_CHROMIUM} is missing.`);
  return DEBIAN_CHROMIUM;
}
