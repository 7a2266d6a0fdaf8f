import { defineConfig } from 'vite';

// Real app output: entry, React, lazy pages with big vendor chunks; JS maps with sourcesContent.
export default defineConfig({
  base: './',
  logLevel: 'warn',
  build: {
    outDir: process.env.OUT_DIR,
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 100000,
  },
});
