import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, TINY_KV_FLAGS } from './run-cli';

/**
 * The bad-input promise, class by class: exit 2, the offender named on stderr, nothing on stdout,
 * no output file. Every check here runs before any work.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvplan-bad-'));
const run = (argv: string[]) => runCli(argv, dir);

const SPEC = path.join(dir, 'spec.yaml');
fs.writeFileSync(
  SPEC,
  `model: meta-llama/Llama-3.1-8B
gpu: h100-sxm
workload:
  arrival: { process: poisson, rate: 4 }
  numRequests: 50
  inputTokens: { fixed: 100 }
  outputTokens: { fixed: 20 }
`,
);
fs.mkdirSync(path.join(dir, 'a-directory'));
fs.writeFileSync(path.join(dir, 'a-file'), 'x');

/** A path this process cannot create a file in (as root only a read-only file system refuses). */
function unwritable(): string {
  if (process.getuid?.() === 0) return '/sys/kvplan-out.csv';
  const d = path.join(dir, 'read-only');
  fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(d, 0o555);
  return path.join(d, 'out.csv');
}

async function expectRefused(argv: string[], offender: RegExp, noFile?: string) {
  const r = await run(argv);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(offender);
  expect(r.code, r.stderr).toBe(2);
  if (noFile) expect(fs.existsSync(path.join(dir, noFile))).toBe(false);
  return r;
}

describe('output paths are checked before any work', () => {
  it('refuses an output that is a directory, under a file, or not writable', async () => {
    await expectRefused(
      ['simulate', SPEC, '--requests', 'a-directory'],
      /--requests: a-directory is a directory/,
    );
    await expectRefused(
      ['simulate', SPEC, '--requests', 'a-file/out.csv'],
      /--requests: cannot create a-file\/out\.csv: a-file is a file/,
    );
    await expectRefused(['simulate', SPEC, '--requests', unwritable()], /--requests: .*not writable/);
    await expectRefused(['kv', 'synth', 'a-directory', ...TINY_KV_FLAGS], /OUT: a-directory is a directory/);
    await expectRefused(
      ['kv', 'synth', 'a-file/kv.safetensors', ...TINY_KV_FLAGS],
      /OUT: cannot create/,
      'a-file/kv.safetensors',
    );
    expect((await run(['kv', 'synth', 'ok.safetensors', ...TINY_KV_FLAGS])).code).toBe(0);
    await expectRefused(
      ['fuse', 'ok.safetensors', '--mode', 'bff', '--threshold', '0.7', '--profile', 'a-directory'],
      /--profile: a-directory is a directory/,
    );
    await expectRefused(
      ['calibrate', SPEC, 'm.csv', '--out', 'a-file/p.json'],
      /--out: cannot create a-file\/p\.json: a-file is a file/,
    );
  });

  it('never writes over a device or a FIFO, nor into /proc (outputs are renamed into place)', async () => {
    execFileSync('mkfifo', [path.join(dir, 'out-fifo')]);
    await expectRefused(
      ['simulate', SPEC, '--requests', '/dev/null'],
      /--requests: \/dev\/null is not a regular file/,
    );
    await expectRefused(
      ['simulate', SPEC, '--requests', 'out-fifo'],
      /--requests: out-fifo is not a regular file/,
    );
    await expectRefused(
      ['simulate', SPEC, '--requests', '/proc/self/mem'],
      /--requests: cannot create \/proc\/self\/mem/,
    );
  });
});

describe('files a spec names', () => {
  it('refuses a trace that is a FIFO or a device at once, naming the trace', async () => {
    execFileSync('mkfifo', [path.join(dir, 'trace-fifo.csv')]);
    for (const trace of ['trace-fifo.csv', '/dev/urandom']) {
      fs.writeFileSync(
        path.join(dir, 'fifo-spec.yaml'),
        `model: meta-llama/Llama-3.1-8B\ngpu: h100-sxm\nworkload: { trace: ${trace} }\n`,
      );
      await expectRefused(['simulate', 'fifo-spec.yaml'], /the trace file is not a regular file/);
    }
  });
});

describe('inputs are files', () => {
  it('refuses directories given as SPEC, MEASURED, KV_FILE and PLAN', async () => {
    await expectRefused(['simulate', 'a-directory'], /SPEC: a-directory is a directory, expected a file/);
    await expectRefused(['compare', SPEC, 'a-directory'], /MEASURED: a-directory is a directory/);
    await expectRefused(
      ['fuse', 'a-directory', '--mode', 'bff', '--threshold', '0.7'],
      /KV_FILE: a-directory is a directory/,
    );
    await expectRefused(['kv', 'info', 'a-directory'], /FILE: a-directory is a directory/);
    await expectRefused(['plan', 'a-directory'], /PLAN: a-directory is a directory/);
  });
});

describe('values', () => {
  it('refuses a KV sample holding NaN or infinity, naming the tensor and the first index', async () => {
    expect((await run(['kv', 'synth', 'nan.safetensors', ...TINY_KV_FLAGS])).code).toBe(0);
    const file = path.join(dir, 'nan.safetensors');
    const buf = fs.readFileSync(file);
    const headerLen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
    const [start] = header['layers.2.key'].data_offsets as [number, number];
    // Element [1, 0, 3, 1, 5] of [4 seqs, 4 blocks, 8 tokens, 2 heads, 8 dims].
    const flat = (((1 * 4 + 0) * 8 + 3) * 2 + 1) * 8 + 5;
    buf.writeFloatLE(NaN, 8 + headerLen + start + flat * 4);
    buf.writeFloatLE(Infinity, 8 + headerLen + start + (flat + 1) * 4);
    fs.writeFileSync(file, buf);
    const r = await expectRefused(
      ['fuse', 'nan.safetensors', '--mode', 'bff', '--threshold', '0.7', '--profile', 'p.json', '--json'],
      /nan\.safetensors: layers\.2\.key: NaN at \[1, 0, 3, 1, 5\] \(and 1 more non-finite values\)/,
      'p.json',
    );
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('refuses negative measured latencies, every row named', async () => {
    fs.writeFileSync(
      path.join(dir, 'neg.csv'),
      'ttft_ms,e2e_ms,output_tokens\n10,100,5\n-5,100,5\n20,10,5\n',
    );
    const r = await expectRefused(
      ['compare', SPEC, 'neg.csv'],
      /neg\.csv:3: ttft_ms\/e2e_ms: expected latencies >= 0/,
    );
    expect(r.stderr).toMatch(/neg\.csv:4: ttft_ms\/e2e_ms: e2e_ms 10 is less than ttft_ms 20/);
    fs.writeFileSync(path.join(dir, 'neg.json'), JSON.stringify({ mean_ttft_ms: -3, p99_ttft_ms: 40 }));
    await expectRefused(
      ['compare', SPEC, 'neg.json'],
      /neg\.json: mean_ttft_ms: expected a finite latency >= 0, got -3/,
    );
  });

  it('estimates the size of a synthetic sample before allocating anything', async () => {
    const t0 = Date.now();
    await expectRefused(
      ['kv', 'synth', 'huge.safetensors', '--seqs', '100000', '--blocks', '100000'],
      /--seqs\/--blocks: the sample would take 9765625\.0 GiB .* more than --max-gib 8/,
      'huge.safetensors',
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('refuses a YAML alias bomb as bad input, not an internal error', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let k = 1; k < 9; k++)
      lines.push(
        `${String.fromCharCode(97 + k)}: &${String.fromCharCode(97 + k)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + k)}`)
          .join(',')}]`,
      );
    fs.writeFileSync(path.join(dir, 'bomb.yaml'), lines.join('\n') + '\n');
    await expectRefused(['simulate', 'bomb.yaml'], /bomb\.yaml: not accepted: .*alias.*limit 1000/i);
  });
});

describe('deployment shapes', () => {
  it('refuses a pipeline degree that does not divide the layers and an offload larger than the host memory', async () => {
    const base = fs.readFileSync(SPEC, 'utf8');
    fs.writeFileSync(
      path.join(dir, 'shapes.yaml'),
      `${base}pipelineParallel: 3\nkvOffload: { cpuGiB: 4000 }\n`,
    );
    const r = await expectRefused(
      ['simulate', 'shapes.yaml'],
      /pipelineParallel: 3 does not divide the model's 32 layers/,
    );
    expect(r.stderr).toMatch(
      /kvOffload\.cpuGiB: 4000 GiB per replica needs 4000 GiB of host memory per node .*more than the node's 2048 GiB/,
    );
  });
});

describe('arguments', () => {
  it('refuses stray arguments', async () => {
    await expectRefused(['gpus', 'h100'], /arguments: unexpected: h100/);
    await expectRefused(['simulate', SPEC, 'extra.yaml'], /arguments: unexpected: extra\.yaml/);
  });

  it('reports every flag problem in one message', async () => {
    const r = await expectRefused(
      ['simulate', SPEC, '--seeds', '0', '--timeseries=-1', '--bogus', '--requests', 'a-directory', 'stray'],
      /--seeds: expected an integer in 1\.\.1000, got 0/,
    );
    expect(r.stderr).toMatch(/--timeseries: expected a positive number of seconds, got -1/);
    expect(r.stderr).toMatch(/--bogus: unknown option/);
    expect(r.stderr).toMatch(/arguments: unexpected: stray/);
  });

  it('prints usage on stderr with exit 2 when no command is given, on stdout with exit 0 for --help', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^Usage: kvplan <command>/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kvplan <command>/);
    expect(help.stderr).toBe('');
  });
});

describe('deployment shapes that cannot be deployed are refused, naming the field', () => {
  const shape = (name: string, extra: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(
      file,
      `model: Qwen/Qwen3-30B-A3B
gpu: h100-sxm
engine: { maxModelLen: 4096 }
workload:
  arrival: { process: poisson, rate: 4 }
  numRequests: 20
  inputTokens: { fixed: 100 }
  outputTokens: { fixed: 20 }
${extra}
`,
    );
    return file;
  };

  it('EP that does not divide the experts, DP x TP beyond the topology, an unknown fabric', async () => {
    await expectRefused(
      ['simulate', shape('ep.yaml', 'dataParallel: 3\nexpertParallel: true')],
      /expertParallel: tensorParallel x dataParallel = 3 ranks do not divide the model's 128 experts/,
    );
    await expectRefused(
      [
        'simulate',
        shape('gpus.yaml', 'tensorParallel: 4\ndataParallel: 4\ntopology: { gpusPerNode: 8, nodes: 1 }'),
      ],
      /dataParallel: tensorParallel 4 x dataParallel 4 = 16 GPUs are more than the topology's 8/,
    );
    await expectRefused(
      ['simulate', shape('fabric.yaml', 'topology: { fabric: nvlink9 }')],
      /topology\.fabric: unknown fabric "nvlink9"/,
    );
  });
});
