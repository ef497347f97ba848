// The dashboard's form bodies: what each create form sends, and what it refuses to send.
import { describe, expect, it } from 'vitest';
import {
  answerRequest,
  capacityRequest,
  deploymentRequest,
  fusionConfigRequest,
  fusionProfileRequest,
  numberList,
  projectionRequest,
  workloadRequest,
} from '../dashboard/src/bodies';

const form = (fields: Record<string, string>): FormData => {
  const d = new FormData();
  for (const [k, v] of Object.entries(fields)) d.set(k, v);
  return d;
};

describe('projectionRequest', () => {
  it('sends the threshold only with a fusion config, and the seed and SLO override when given', () => {
    expect(projectionRequest(form({ workloadProfileId: 'w', deploymentId: 'd', threshold: '0.8' }))).toEqual({
      body: { workloadProfileId: 'w', deploymentId: 'd' },
    });
    expect(
      projectionRequest(
        form({
          workloadProfileId: 'w',
          deploymentId: 'd',
          fusionConfigId: 'f',
          threshold: '0.8',
          seed: '7',
          sloTtft: '500',
          sloTpot: '',
          sloE2el: '9000',
        }),
      ),
    ).toEqual({
      body: {
        workloadProfileId: 'w',
        deploymentId: 'd',
        fusionConfigId: 'f',
        threshold: 0.8,
        seed: 7,
        slo: { ttftMs: { p99: 500 }, e2elMs: { p99: 9000 } },
      },
    });
  });

  it('names every bad field', () => {
    expect(projectionRequest(form({ seed: '-1', sloTpot: 'fast' }))).toEqual({
      problems: [
        'Workload profile: required',
        'Deployment: required',
        'Seed: expected a whole number ≥ 0, got "-1"',
        'SLO TPOT p99 (ms): expected a positive number, got "fast"',
      ],
    });
  });
});

describe('workloadRequest', () => {
  it('makes a Poisson, log-normal workload', () => {
    expect(
      workloadRequest(
        form({ name: 'chat', rate: '2', numRequests: '300', inputMedian: '600', outputMedian: '80' }),
      ),
    ).toEqual({
      body: {
        name: 'chat',
        workload: {
          arrival: { process: 'poisson', rate: 2 },
          numRequests: 300,
          inputTokens: { lognormal: { median: 600, sigma: 0.5 } },
          outputTokens: { lognormal: { median: 80, sigma: 0.5 } },
        },
      },
    });
  });

  it('refuses a fractional request count and a missing name', () => {
    const r = workloadRequest(
      form({ rate: '2', numRequests: '2.5', inputMedian: '600', outputMedian: '80' }),
    );
    expect(r).toEqual({
      problems: ['Name: required', 'Requests: expected a positive whole number, got "2.5"'],
    });
  });
});

describe('fusionConfigRequest and fusionProfileRequest', () => {
  it('parses the thresholds and batch sizes and checks each', () => {
    expect(numberList('0.7, 0.8 0.9')).toEqual([0.7, 0.8, 0.9]);
    expect(fusionConfigRequest(form({ name: 'x', mode: 'bff', thresholds: '0.7, 0.8' }))).toEqual({
      body: { name: 'x', mode: 'bff', thresholds: [0.7, 0.8] },
    });
    expect(
      fusionConfigRequest(form({ name: 'x', mode: 'bff', thresholds: '0.7', batchSizes: '4 8' })),
    ).toEqual({
      body: { name: 'x', mode: 'bff', thresholds: [0.7], batchSizes: [4, 8] },
    });
    expect(
      fusionConfigRequest(form({ name: 'x', mode: 'zip', thresholds: '0.7, 1.5, a', batchSizes: '1' })),
    ).toEqual({
      problems: [
        'Mode: expected bff or cff, got "zip"',
        'Thresholds: each in (0, 1], got 1.5, NaN',
        'Batch sizes: whole numbers ≥ 2, got "1"',
      ],
    });
  });

  it('builds a profile from a workload, config and deployment', () => {
    const ids = { workloadProfileId: 'w', fusionConfigId: 'f', deploymentId: 'd' };
    expect(fusionProfileRequest(form({ ...ids, sampleSize: '' }))).toEqual({ body: ids });
    expect(fusionProfileRequest(form({ ...ids, sampleSize: '8', maxPromptTokens: '128' }))).toEqual({
      body: { ...ids, sampleSize: 8, maxPromptTokens: 128 },
    });
    expect(fusionProfileRequest(form({ workloadProfileId: 'w' }))).toEqual({
      problems: ['Fusion config: required', 'Deployment: required'],
    });
  });
});

describe('answerRequest', () => {
  const ticked = (fields: Record<string, string>, deployments: string[]) => {
    const d = form(fields);
    for (const id of deployments) d.append('deploymentIds', id);
    return d;
  };
  it('sends the ticked deployments, the fusion config with its thresholds, TP degrees, target rate and SLO', () => {
    expect(
      answerRequest(
        ticked(
          {
            workloadProfileId: 'w',
            fusionConfigId: 'f',
            thresholds: '0.75, 0.85',
            tensorParallel: '1 2',
            targetRate: '4.5',
            sloTtft: '800',
          },
          ['a', 'b'],
        ),
      ),
    ).toEqual({
      body: {
        mode: 'answer',
        workloadProfileId: 'w',
        deploymentIds: ['a', 'b'],
        fusionConfigId: 'f',
        thresholds: [0.75, 0.85],
        tensorParallel: [1, 2],
        targetRate: 4.5,
        slo: { ttftMs: { p99: 800 } },
      },
    });
    expect(answerRequest(ticked({ workloadProfileId: 'w', thresholds: '' }, ['a']))).toEqual({
      body: { mode: 'answer', workloadProfileId: 'w', deploymentIds: ['a'] },
    });
  });

  it('refuses no deployment, thresholds without a fusion config, fractional TP and a rate of zero', () => {
    expect(
      answerRequest(
        ticked({ workloadProfileId: 'w', thresholds: '0.8', tensorParallel: '1.5', targetRate: '0' }, []),
      ),
    ).toEqual({
      problems: [
        'Deployments: tick at least one (one per GPU type to compare)',
        'Thresholds: need a fusion config',
        'TP degrees: whole numbers ≥ 1, got "1.5"',
        'Target rate (req/s): expected a positive number, got "0"',
      ],
    });
  });
});

describe('capacityRequest', () => {
  const ids = { workloadProfileId: 'w', deploymentId: 'd' };
  it("sends the mode's own sweep key and the SLO override", () => {
    expect(capacityRequest(form({ ...ids, mode: 'min-gpus', sweep: '1 2 4', sloTtft: '800' }))).toEqual({
      body: { ...ids, mode: 'min-gpus', replicas: [1, 2, 4], slo: { ttftMs: { p99: 800 } } },
    });
    expect(capacityRequest(form({ ...ids, mode: 'max-rate', sweep: '' }))).toEqual({
      body: { ...ids, mode: 'max-rate' },
    });
    expect(capacityRequest(form({ ...ids, fusionConfigId: 'f', mode: 'pareto', sweep: '0.7,0.9' }))).toEqual({
      body: { ...ids, fusionConfigId: 'f', mode: 'pareto', thresholds: [0.7, 0.9] },
    });
  });

  it('refuses fractional replicas and a pareto plan without a fusion config', () => {
    expect(capacityRequest(form({ ...ids, mode: 'min-gpus', sweep: '1.5' }))).toEqual({
      problems: ['Replica counts: not valid: "1.5"'],
    });
    expect(capacityRequest(form({ ...ids, mode: 'pareto' }))).toEqual({
      problems: ['Fusion config: required for pareto (its thresholds)'],
    });
  });
});

describe('deploymentRequest', () => {
  it('sends the presets, TP, replicas and only the engine knobs given', () => {
    expect(
      deploymentRequest(
        form({
          name: 'llama on h100',
          model: 'meta-llama/Llama-3.1-8B',
          gpu: 'h100-sxm',
          tensorParallel: '2',
          replicas: '3',
          maxNumSeqs: '128',
          maxNumBatchedTokens: '',
          gpuMemoryUtilization: '0.85',
          enablePrefixCaching: 'off',
          gpuHourUsd: '2.5',
        }),
      ),
    ).toEqual({
      body: {
        name: 'llama on h100',
        model: 'meta-llama/Llama-3.1-8B',
        gpu: 'h100-sxm',
        tensorParallel: 2,
        replicas: 3,
        engine: { maxNumSeqs: 128, gpuMemoryUtilization: 0.85, enablePrefixCaching: false },
        cost: { gpuHourUsd: 2.5 },
      },
    });
    expect(deploymentRequest(form({ name: 'a', model: 'm', gpu: 'l4', enablePrefixCaching: '' }))).toEqual({
      body: { name: 'a', model: 'm', gpu: 'l4' },
    });
  });

  it('names every bad field by its label', () => {
    const built = deploymentRequest(
      form({
        name: '',
        model: '',
        gpu: '',
        tensorParallel: '1.5',
        replicas: '0',
        blockSize: '-16',
        maxModelLen: 'x',
        gpuMemoryUtilization: '1.5',
        gpuHourUsd: '-1',
      }),
    );
    expect('problems' in built && built.problems).toEqual([
      'Name: required',
      'Model: required',
      'GPU: required',
      'Tensor parallel: expected a positive whole number, got "1.5"',
      'Replicas: expected a positive whole number, got "0"',
      'Block size (tokens): expected a positive whole number, got "-16"',
      'Max model length (tokens): expected a positive whole number, got "x"',
      'GPU memory utilisation: expected a fraction in (0, 1], got "1.5"',
      'Price ($ per GPU-hour): expected a positive number, got "-1"',
    ]);
  });
});
