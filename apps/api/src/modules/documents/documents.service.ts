import { Injectable } from '@nestjs/common';
import {
  HF_IGNORED_KEYS,
  HF_MODEL_KEYS,
  IssueCollector,
  parseHfConfig,
  validateGpuProfile,
} from '@kvplan/sim';
import { InputIssuesException } from '../../common/validation';

const KEPT_MODEL_KEYS = new Set<string>([...HF_MODEL_KEYS, ...HF_IGNORED_KEYS]);

/**
 * Checks uploaded documents with the simulator's own readers and returns what is stored: for a
 * config.json the keys the simulator reads or knows to ignore (others, such as a tokenizer's
 * settings, are dropped), so the stored document resolves inline exactly as it was checked.
 */
@Injectable()
export class DocumentsService {
  modelConfig(config: Record<string, unknown>, name: string): Record<string, unknown> {
    const kept = Object.fromEntries(Object.entries(config).filter(([k]) => KEPT_MODEL_KEYS.has(k)));
    if (typeof kept._name_or_path !== 'string' || !kept._name_or_path) kept._name_or_path = name;
    const issues = new IssueCollector();
    parseHfConfig(kept, { path: 'config', issues, fallbackId: name, source: null, strictKeys: true });
    if (issues.issues.length) throw new InputIssuesException(issues.issues);
    return kept;
  }

  calibration(profile: Record<string, unknown>, name: string): Record<string, unknown> {
    const issues = new IssueCollector();
    const coefficients = validateGpuProfile(profile, 'profile', issues, name);
    if (!coefficients) throw new InputIssuesException(issues.issues);
    return { ...profile, coefficients };
  }
}
