import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '@kvplan/core';

/** Text <-> token ids, from a model folder's own tokenizer.json (never downloaded). */
export interface TextTokenizer {
  /** Token ids of a prompt, with the special tokens the tokenizer's post-processor adds (BOS). */
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/**
 * Loads `tokenizer.json` (and `tokenizer_config.json` when present) of a model folder through
 * @huggingface/tokenizers (pure JS). Bad or missing files: InputError, its paths prefixed
 * with `label`.
 */
export function loadTokenizer(dir: string, label = ''): TextTokenizer {
  const file = path.join(dir, 'tokenizer.json');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError([
      {
        path: `${label}tokenizer.json`,
        message:
          e.code === 'ENOENT'
            ? 'missing from the model folder: give prompts as token ids (token_ids) instead of text'
            : `not valid JSON (${e.message})`,
      },
    ]);
  }
  let config: unknown = {};
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  if (fs.existsSync(cfgFile)) {
    try {
      config = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    } catch (err) {
      throw new InputError([
        { path: `${label}tokenizer_config.json`, message: `not valid JSON (${(err as Error).message})` },
      ]);
    }
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as object, config as object);
  } catch (err) {
    throw new InputError([
      { path: `${label}tokenizer.json`, message: `cannot build the tokenizer (${(err as Error).message})` },
    ]);
  }
  return {
    encode: (text) => tok.encode(text).ids,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false }),
  };
}
