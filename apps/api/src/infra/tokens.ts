/** Injection token of the validated ApiConfig. */
export const API_CONFIG = 'KVPLAN_API_CONFIG';
