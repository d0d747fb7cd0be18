import type { EventEntry, LocalContext, LocalService } from '#local/services/types';
import { MemoryStore, type StateStore } from '#local/store/store';

/** A LocalContext for calling service operations directly: MemoryStore, captured events, pluggable fakes. */
export type TestContext = LocalContext & { events: EventEntry[] };

export const makeContext = (
  options: {
    store?: StateStore;
    services?: LocalService[];
    invoke?: LocalContext['invoke'];
    call?: LocalContext['call'];
  } = {},
): TestContext => {
  const events: EventEntry[] = [];
  const ctx: TestContext = {
    region: 'us-east-1',
    accountId: '123456789012',
    baseUrl: 'http://127.0.0.1:4566',
    store: options.store ?? new MemoryStore(),
    log: { info: () => {}, warn: () => {}, error: () => {} },
    events,
    putEvents: async (entries) => {
      events.push(...entries);
      return entries.map((_, i) => ({ EventId: `evt-${events.length}-${i}` }));
    },
    invoke: options.invoke ?? (async (fn) => Promise.reject(new Error(`no function ${fn}`))),
    call:
      options.call ??
      (async (service, operation, input) => {
        const target = options.services?.find((s) => s.id === service);
        const op = target?.operations?.[operation];
        if (!op) throw new Error(`no operation ${service}.${operation}`);
        return (await op(input, ctx)) as Record<string, unknown>;
      }),
  };
  return ctx;
};
