/**
 * Result, chart and profile shapes that cross the wire (stored by the worker, served by the api,
 * drawn by the dashboard). Declared once in libs/core, where libs/sim and libs/fusion produce
 * them; this is their home for the apps, and the dashboard imports them from here type-only.
 */
export type {
  AccuracyEntry,
  CapacityAnswer,
  CapacityPoint,
  CapacityRow,
  FusionInfo,
  FusionProfile,
  KvMemory,
  KvSeries,
  LatencyCdf,
  Pair,
  ProfileForCharts,
  ProjectionAccuracy,
  ProjectionCharts,
  ProjectionResult,
  ProjectionRun,
  RateDistortionLayer,
  RatePoint,
  RateSweep,
  RunCharts,
  RunFusion,
  RunMetrics,
  SimulationResult,
  SloSpec,
  ThresholdPoint,
  ThresholdSweep,
} from '@kvplan/core';
