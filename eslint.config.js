// ESLint for the dashboard's ES modules (src/textlens/serve/static), run by `make lint` and
// `make test`. Browser globals only; every shared name travels by import/export.
import js from "@eslint/js";
import globals from "globals";

export default [
  // Only the dashboard's own sources are ours to lint: vendored bundles (plotly.min.js beside
  // the reports) and run outputs are not.
  { ignores: ["node_modules/**", ".venv/**", "**/*.min.js", "outputs/**", "runs/**", "models/**"] },
  js.configs.recommended,
  {
    files: ["src/textlens/serve/static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    rules: {
      "no-undef": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-implicit-globals": "error",
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-use-before-define": ["error", { functions: false, classes: true, variables: true }],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      // The page's security design: dataset text enters as text nodes only (see dom.js).
      "no-restricted-properties": ["error",
        { property: "innerHTML", message: "use el()/textContent: no HTML sinks" },
        { property: "outerHTML", message: "use el()/textContent: no HTML sinks" },
        { property: "insertAdjacentHTML", message: "use el(): no HTML sinks" },
        { object: "document", property: "write", message: "no HTML sinks" }],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
