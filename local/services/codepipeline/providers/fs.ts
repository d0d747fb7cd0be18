/** File helpers shared by providers: unzip into a directory, zip a directory or a file list, run a process. */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { unzipSync, zipSync } from 'fflate';

/** Extracts a zip, refusing entries that would escape `dir`. Scripts (shebang or .sh) are made executable. */
export function unzipTo(bytes: Uint8Array, dir: string): string[] {
  const files = unzipSync(bytes);
  const names: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const target = normalize(join(dir, name));
    if (!target.startsWith(normalize(dir) + sep) && target !== normalize(dir))
      throw new Error(`Zip entry ${name} escapes the target directory`);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    if (name.endsWith('.sh') || (content[0] === 0x23 && content[1] === 0x21)) chmodSync(target, 0o755);
    names.push(name);
  }
  return names;
}

/** Every file below `dir`, as `/`-separated paths relative to it. */
export function walk(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (skip(rel)) continue;
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile() || (entry.isSymbolicLink() && statSync(full).isFile())) out.push(rel);
    }
  };
  visit(dir);
  return out.sort();
}

export function zipFiles(entries: Array<{ path: string; source: string }>): Uint8Array {
  const tree: Record<string, Uint8Array> = {};
  for (const e of entries) tree[e.path] = readFileSync(e.source);
  return zipSync(tree);
}

export function zipDir(dir: string, skip?: (rel: string) => boolean): Uint8Array {
  return zipFiles(walk(dir, skip).map((path) => ({ path, source: join(dir, path) })));
}

export type RunResult = { code: number; stdout: Buffer };

/** Runs a command, streaming combined output line by line; resolves with the exit code. */
export function run(
  command: string,
  args: string[],
  options: {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    onLine?: (line: string) => void;
    signal?: AbortSignal;
    timeoutMs?: number;
    capture?: boolean;
  },
): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const chunks: Buffer[] = [];
    let pending = '';
    const onData = (data: Buffer) => {
      if (options.capture) chunks.push(data);
      if (!options.onLine) return;
      pending += data.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (options.capture ? options.onLine?.(d.toString('utf8')) : onData(d)));
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = options.timeoutMs ? setTimeout(kill, options.timeoutMs) : undefined;
    options.signal?.addEventListener('abort', kill, { once: true });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      if (pending && options.onLine) options.onLine(pending);
      resolveRun({ code: code ?? (signal ? 137 : 1), stdout: Buffer.concat(chunks) });
    });
  });
}
