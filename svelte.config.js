// Shared by vite-plugin-svelte, svelte-check, eslint-plugin-svelte and prettier-plugin-svelte.
export default {
  // Runes only: legacy reactive statements and `export let` are compile errors in this codebase.
  compilerOptions: { runes: true },
};
