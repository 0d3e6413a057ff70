import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The dashboard, built into dist/dashboard (its own folder: emptyOutDir must
 * never reach what tsc compiled) and served by the service at /ui/.
 * Everything is bundled: no CDN, no external font.
 */
export default defineConfig({
  base: '/ui/',
  plugins: [preact({ devtoolsInProd: false, prefreshEnabled: false })],
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    // The service sends script-src 'self': no inline module preload polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
