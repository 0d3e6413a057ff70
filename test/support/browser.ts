import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core: no browser download. Each
 * launch gets a fresh temporary profile (user-data-dir) from Playwright,
 * removed on close; each context is a fresh cookie jar.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_INSTALL_HINT = 'apt-get install -y --no-install-recommends chromium (see .ci/run)';

/** Everything the browser could reach on its own is switched off: it talks to the service on loopback only. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Whether browser tests run here: always under CI (where a missing Chromium
 * is a failure, see launchChromium), elsewhere only if it is installed.
 */
export function browserTestsEnabled(): boolean {
  return process.env.CI === 'true' || chromiumInstalled();
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own cookies and storage) and page at the given size; its console errors and page errors are collected. */
  open(viewport?: { width: number; height: number }): Promise<TestPage>;
  close(): Promise<void>;
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Console errors, uncaught exceptions and failed requests seen by the page (a CSP violation is a console error). */
  problems: string[];
  /** Saves test-results/screenshots/<name>.png of the whole page (or of the viewport only). */
  screenshot(name: string, options?: { fullPage?: boolean }): Promise<string>;
}

export async function launchChromium(): Promise<TestBrowser> {
  if (!chromiumInstalled()) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: the dashboard tests need the system browser (${CHROMIUM_INSTALL_HINT}); no browser is downloaded`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  return {
    browser,
    open: async (viewport = DESKTOP) => {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1, ...(viewport.width < 600 && { isMobile: true, hasTouch: true }) });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        // A refused API call is the page's business (it shows it); CSP violations and script errors are not.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      return {
        context,
        page,
        problems,
        screenshot: async (name, options = {}) => {
          mkdirSync(SCREENSHOT_DIR, { recursive: true });
          const path = `${SCREENSHOT_DIR}${name}.png`;
          await page.screenshot({ path, fullPage: options.fullPage ?? true });
          return path;
        },
      };
    },
    close: () => browser.close(),
  };
}

/** The page's global object as seen from a test (the test's tsconfig has no DOM types). */
interface PageGlobal {
  getComputedStyle(element: unknown): Record<string, string>;
  [key: string]: unknown;
}

/** A computed CSS property of the element a locator points at. */
export async function computedStyle(locator: import('playwright-core').Locator, property: string): Promise<string | undefined> {
  return locator.evaluate((element, name) => (globalThis as unknown as PageGlobal).getComputedStyle(element)[name], property);
}

/** Marks the current document; `stillSameDocument` is true only while the page has not been reloaded since. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as PageGlobal).vimMonitorTestMark = true;
  });
}

export async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as PageGlobal).vimMonitorTestMark === true);
}
