import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * The one way Stagecrew's code reaches zod: zod 4's functional API (`zod/mini`), whose builders esbuild keeps one by
 * one, where the classic API's methods keep all of them (about 95 KiB a bundle, against about 25). `zod/mini` loads no
 * locale, so its issue messages would be a bare "Invalid input"; this module loads the English one (and only it: the
 * `zod/locales` named import tree-shakes) so validation errors, 4xx reasons and failed jobs read as before.
 *
 * Import it as a namespace, `import * as z from '…/schemas/zod.ts'` (a test keeps functions/ off `zod` itself).
 */
config(en());

export * from 'zod/mini';
