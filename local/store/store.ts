import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Durable key-value state of the local cloud, one namespace per concern ('cfn:stacks', 'sfn:executions', …).
 *
 * Reads are served from memory. Every write is appended to a journal and fsync'ed before the call returns, so
 * a change that was acknowledged survives `kill -9`. A torn final line (the process died mid-append) is
 * ignored on replay: that write was never acknowledged. When the journal grows, a snapshot is written to a
 * temporary file, fsync'ed and renamed over the old one (atomic), and the journal restarts empty.
 */
export type StateStore = {
  get<T>(ns: string, key: string): T | undefined;
  put(ns: string, key: string, value: unknown): void;
  delete(ns: string, key: string): void;
  /** Entries of a namespace in insertion order. */
  list<T>(ns: string): Array<[key: string, value: T]>;
  close(): void;
};

type JournalLine = { op: 'put'; ns: string; key: string; value: unknown } | { op: 'del'; ns: string; key: string };

export class FileStore implements StateStore {
  readonly #dir: string;
  readonly #data = new Map<string, Map<string, unknown>>();
  readonly #compactEvery: number;
  #journalFd: number;
  #writes = 0;

  constructor(dir: string, options: { compactEvery?: number } = {}) {
    this.#dir = dir;
    this.#compactEvery = options.compactEvery ?? 5_000;
    mkdirSync(dir, { recursive: true });
    this.#load();
    this.#journalFd = openSync(this.#journalPath, 'a');
  }

  get #snapshotPath() {
    return join(this.#dir, 'snapshot.json');
  }
  get #journalPath() {
    return join(this.#dir, 'journal.ndjson');
  }

  #load(): void {
    if (existsSync(this.#snapshotPath)) {
      const snapshot = JSON.parse(readFileSync(this.#snapshotPath, 'utf8')) as Record<string, Record<string, unknown>>;
      for (const [ns, entries] of Object.entries(snapshot)) this.#data.set(ns, new Map(Object.entries(entries)));
    }
    if (existsSync(this.#journalPath)) {
      for (const line of readFileSync(this.#journalPath, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let entry: JournalLine;
        try {
          entry = JSON.parse(line) as JournalLine;
        } catch {
          continue; // a torn last line: the write never completed, so it was never acknowledged
        }
        this.#apply(entry);
      }
    }
  }

  #apply(entry: JournalLine): void {
    if (entry.op === 'put') {
      const ns = this.#data.get(entry.ns) ?? new Map<string, unknown>();
      this.#data.set(entry.ns, ns);
      ns.set(entry.key, entry.value);
    } else {
      this.#data.get(entry.ns)?.delete(entry.key);
    }
  }

  #append(entry: JournalLine): void {
    // Validate serializability before touching memory, so a bad value never half-applies.
    const line = `${JSON.stringify(entry)}\n`;
    this.#apply(entry);
    writeSync(this.#journalFd, line);
    fsyncSync(this.#journalFd);
    if (++this.#writes >= this.#compactEvery) this.compact();
  }

  get<T>(ns: string, key: string): T | undefined {
    const value = this.#data.get(ns)?.get(key);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  put(ns: string, key: string, value: unknown): void {
    this.#append({ op: 'put', ns, key, value: JSON.parse(JSON.stringify(value)) });
  }

  delete(ns: string, key: string): void {
    if (!this.#data.get(ns)?.has(key)) return;
    this.#append({ op: 'del', ns, key });
  }

  list<T>(ns: string): Array<[string, T]> {
    return [...(this.#data.get(ns) ?? new Map()).entries()].map(([k, v]) => [k, structuredClone(v) as T]);
  }

  /** Writes a snapshot atomically (temp file, fsync, rename) and truncates the journal. */
  compact(): void {
    const snapshot: Record<string, Record<string, unknown>> = {};
    for (const [ns, entries] of this.#data) snapshot[ns] = Object.fromEntries(entries);
    const tmp = `${this.#snapshotPath}.tmp`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, JSON.stringify(snapshot));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.#snapshotPath);
    closeSync(this.#journalFd);
    this.#journalFd = openSync(this.#journalPath, 'w');
    fsyncSync(this.#journalFd);
    this.#writes = 0;
  }

  close(): void {
    closeSync(this.#journalFd);
  }
}

/** An in-memory store with the same interface, for unit tests of service modules. */
export class MemoryStore implements StateStore {
  readonly #data = new Map<string, Map<string, unknown>>();
  get<T>(ns: string, key: string): T | undefined {
    const v = this.#data.get(ns)?.get(key);
    return v === undefined ? undefined : (structuredClone(v) as T);
  }
  put(ns: string, key: string, value: unknown): void {
    const m = this.#data.get(ns) ?? new Map<string, unknown>();
    this.#data.set(ns, m);
    m.set(key, JSON.parse(JSON.stringify(value)));
  }
  delete(ns: string, key: string): void {
    this.#data.get(ns)?.delete(key);
  }
  list<T>(ns: string): Array<[string, T]> {
    return [...(this.#data.get(ns) ?? new Map()).entries()].map(([k, v]) => [k, structuredClone(v) as T]);
  }
  close(): void {}
}
