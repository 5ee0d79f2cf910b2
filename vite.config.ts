import { defineConfig } from 'vite';

// `base: './'` keeps every asset path relative, so the built site works from any folder of any
// static host (a workshop can copy `dist/` anywhere).
export default defineConfig({
  base: './',
  server: { host: 'localhost', port: 5173 },
  build: { target: 'es2022', outDir: 'dist', assetsInlineLimit: 0 },
  worker: { format: 'es' },
});
