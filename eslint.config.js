import js from "@eslint/js";
import tseslint from "typescript-eslint";
import boundaries from "./eslint/boundaries.js";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "eslint.config.js", "eslint/", "reports/", ".stryker-tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { irsa: boundaries },
    rules: {
      // The layering (eslint/boundaries.js): a pure core, deployables apart, no test code in the product.
      "irsa/import-boundaries": ["error", { root: import.meta.dirname }],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unnecessary-condition": ["error", { allowConstantLoopConditions: true }],
      // node:test's describe/it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["describe", "it", "test", "suite", "before", "after"],
            },
          ],
        },
      ],
    },
  },
);
