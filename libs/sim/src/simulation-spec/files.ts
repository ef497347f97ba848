/**
 * Which fields of a spec may name files. The CLI reads every kind (paths relative to the spec);
 * a service reads none of a request's: there a string is only ever a preset name, decided by the
 * same resolver that would otherwise have read the file, so no second notion of "what is a path"
 * exists to disagree with it.
 */
export type SpecFileKind = 'model' | 'calibration' | 'trace' | 'empirical' | 'profile';

export const ALL_SPEC_FILE_KINDS: readonly SpecFileKind[] = [
  'model',
  'calibration',
  'trace',
  'empirical',
  'profile',
];

/** The message for a string that would be read as a file where files are not read. */
export const FILES_NOT_READ = 'file paths are not read here';
