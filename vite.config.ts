import { defineConfig } from 'vite';

// `base: './'` keeps every asset path relative, so the built site works from any folder of any
// static host (a workshop can copy `dist/` anywhere).
export default defineConfig({
  base: './',
  server: { host: 'localhost', port: 5173 },
  build: { target: 'es2022', outDir: 'dist', assetsInlineLimit: 0 },
  worker: { format: 'es' },
  // Pre-bundle the page's dependencies up front: a late re-optimization reloads the page.
  optimizeDeps: { include: ['comlink', 'lit', 'lit/decorators.js', 'uplot'] },
});
