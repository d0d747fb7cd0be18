declare module 'dynalite' {
  import type { Server } from 'node:http';

  type Options = {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
  };
  export default function dynalite(options?: Options): Server;
}
