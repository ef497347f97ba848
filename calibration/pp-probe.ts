import { simulate, DEFAULT_TIME_MODEL } from '@kvplan/sim';
import { loadVllmMeasuredCases } from './vllm-measured';
const c = loadVllmMeasuredCases().find((c) => c.id === 'blis-h100-llama2-70b-tp4-reasoning')!;
for (let i = 0; i < 4; i++)
  for (const off of [false, true]) {
    const spec = { ...c.spec, kvOffload: off ? c.spec.kvOffload : null, timeModel: DEFAULT_TIME_MODEL };
    const t = process.cpuUsage();
    simulate(spec);
    const cpu = process.cpuUsage(t);
    console.log(off, ((cpu.user + cpu.system) / 1e6).toFixed(3));
  }
