import { defineConfig } from 'vitest/config';

// Tiers: unit (pure logic + adapters with aws-sdk-client-mock + template checks) and integration
// (real SDK clients over HTTP against a started local cloud, end-to-end runs, browser tests).
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'test/adapters/**/*.test.ts',
            'test/template/**/*.test.ts',
            'test/workflow/**/*.test.ts',
            'test/fuzz/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/faults/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/browser/**/*.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
