// esbuild bundles the CSS the entry imports (app.css); TypeScript only needs to know it exists.
declare module '*.css';
