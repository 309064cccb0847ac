/**
 * The public API of sde: continuous-time score-based diffusion models (VP, sub-VP and VE SDEs,
 * DDPM as a special case) on TensorFlow.js.
 *
 * Everything a program needs is exported here by name; the modules behind it are internal and
 * may change. Tensors are `@tensorflow/tfjs` tensors of the tfjs instance re-exported as
 * `tf`: use it (rather than a second copy of tfjs) to build inputs and score functions.
 *
 * ```ts
 * import { configureRuntime, integrate, makeSDE, mixtureScore } from 'sde';
 *
 * await configureRuntime({ backend: 'auto' });
 * const sde = makeSDE({ sde: 'vp' });
 * const score = mixtureScore(sde, { weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], stds: [0.3, 0.3] });
 * const { x, nfe } = integrate(sde, score, 'ode-heun', { shape: [1000, 2], steps: 50, seed: 1 });
 * console.log(nfe, x.arraySync());
 * x.dispose();
 * score.dispose();
 * ```
 * @packageDocumentation
 */

// Runtime: the tfjs instance, its set-up (backend, threads, native kernels), the package version, errors.
export * as tf from '@tensorflow/tfjs';
export { configureRuntime, runtimeOptionsFromEnv } from './runtime.js';
export type { RuntimeOptions } from './runtime.js';
export { BACKEND_NAMES, describeBackend, parseBackendName } from './backend.js';
export type { BackendInfo, BackendName } from './backend.js';
export { UsageError } from './errors.js';
export { packageVersion } from './version.js';

// SDEs and schedules: VP, sub-VP, VE; beta schedules; reverse-time and probability-flow drifts;
// conversions between the eps, score and x0 parameterizations.
export { DEFAULT_SDE_CONFIG, makeSDE, parseSdeName } from './sde/registry.js';
export { SDE_NAMES } from './sde/types.js';
export { SDE_SCHEMA } from './sde/options.js';
export type { ConditionalScore, CostedScoreFn, Marginal, ScoreFn, SDE, SDEConfig, SDEName } from './sde/types.js';
export { LinearDriftSDE } from './sde/base.js';
export { VPSDE } from './sde/vp.js';
export { SubVPSDE } from './sde/subvp.js';
export { VESDE } from './sde/ve.js';
export { COSINE_T, cosineSchedule, expressionSchedule, linearSchedule, makeSchedule } from './sde/schedules.js';
export type { BetaSchedule } from './sde/schedules.js';
export { probabilityFlowDrift, reverseSdeDrift } from './sde/reverse.js';
export { epsToScore, epsToX0, scoreToEps, scoreToX0, x0ToEps, x0ToScore } from './sde/parameterization.js';

// The DDPM chain: a VP-SDE discretized to N steps (betas, alpha-bar, q(x_t | x_0), posterior).
export { DiscreteChain, discretize, DISCRETIZATION_MAPS, exactChain, MAX_DISCRETE_BETA } from './sde/discrete.js';
export type { DiscretizationMap } from './sde/discrete.js';

// Solvers: integrate (the one sampling entry point), the registry of solvers and time grids.
export { integrate } from './solvers/integrate.js';
export { expectedNfe, parseSolverName, SOLVERS } from './solvers/registry.js';
export { GRID_KINDS } from './solvers/types.js';
export { SOLVER_NAMES } from './solvers/registry.js';
export type { GridKind, Imputation, IntegrateOptions, NoiseInterval, NoiseSampler, SolveResult, SolverInfo, SolverName, SolverOptions } from './solvers/types.js';
export { DEFAULT_EPS, logSnrAt, timeAtLogSnr, timeGrid } from './solvers/grids.js';
export { seededNoise } from './solvers/common.js';
export { mixSeed, normalArray, Rng } from './random.js';

// Score models: networks (MLP, U-Net), the score-model wrapper, checkpoints (save, load),
// classifier-free guidance for class-conditional models.
export { createModel, defaultModelConfig, defaultNetworkConfig } from './models/factory.js';
export { PARAMETERIZATIONS, ScoreModel } from './models/score-model.js';
export type { EpsFn, InputScaling, ModelConfig, Parameterization } from './models/score-model.js';
export { createNetwork } from './models/network.js';
export type { MLPConfig, Network, NetworkConfig, UNetConfig } from './models/network-types.js';
export { defaultMLPConfig } from './models/mlp.js';
export { defaultUNetConfig } from './models/unet.js';
export type { TimeEmbeddingConfig } from './models/embedding.js';
export { countParams, disposeParams, initParams } from './models/params.js';
export type { ParamInit, ParamSpec, Params } from './models/params.js';
export { isCheckpoint, loadCheckpoint, saveCheckpoint } from './models/checkpoint.js';
export type { CheckpointConfig, CheckpointData, DataInfo, LoadedCheckpoint, LogWindow, OptimizerState } from './models/checkpoint.js';
export type { WeightSpec, WeightsEntry } from './models/weights-io.js';
export { guidedScore } from './conditioning/guidance.js';
// Conditioning set-up: a score source conditioned on a class (guidance) and/or known values (inpainting).
export { checkConditioning, conditionSource, knownRows } from './conditioning/condition-source.js';
export type { Conditioning } from './conditioning/condition-source.js';
export { CONDITIONING_SCHEMA, conditioningFromOptions, type ConditioningOptions } from './conditioning/options.js';
export { imputationOf } from './conditioning/known-values.js';
export type { KnownFiles, KnownRows, Rows } from './conditioning/known-values.js';
export type { ConditionedSource, ScoreSource } from './conditioning/score-source.js';

// Data: the built-in 2-D sets, CSV and MNIST, normalization.
export { DEFAULT_TOY_SIZE, loadDataset } from './data/index.js';
export type { LoadDataOptions } from './data/index.js';
export { denormalize, fitNormalization, normalize, standardize } from './data/dataset.js';
export type { Dataset, Normalization } from './data/dataset.js';
export { TOY_DATASETS, toyDataset } from './data/toy.js';
export type { ToyName } from './data/toy.js';
export { loadCsv, parseCsv } from './data/csv.js';
export type { CsvOptions } from './data/csv.js';
export { CSV_DELIMITERS, CSV_SCHEMA } from './data/csv-options.js';
export type { CsvFormat } from './data/csv-options.js';
export { loadMnist, MNIST_SPLITS } from './data/mnist.js';
export type { MnistOptions, MnistSplit } from './data/mnist.js';

// Training: the training loop (denoising score matching or the DDPM objective, Adam, EMA, checkpoints).
export { train } from './train/loop.js';
export { defaultSettings } from './train/settings.js';
export { CHANGEABLE_ON_RESUME, DEFAULT_P_UNCOND, TRAIN_SCHEMA } from './train/options.js';
export type { TrainResult } from './train/loop.js';
export type { LogEntry } from './train/logger.js';
export type { SettingChange, TrainOptions, TrainSettings } from './train/settings.js';
export { DEFAULT_TRAIN_EPS, OBJECTIVES, WEIGHTINGS } from './train/losses.js';
export type { Objective, Weighting } from './train/losses.js';
export type { Adam, AdamConfig } from './train/adam.js';
export { createProgressReporter, silentProgress } from './train/progress.js';
export type { ProgressInfo, ProgressReporter } from './train/progress.js';
export type { ProgressStream } from './progress.js';

// Likelihood: the probability-flow ODE's exact log-likelihood and the discrete chain's bound.
export { bitsPerDim, DEFAULT_LIKELIHOOD_EPS, dequantize, odeLogLikelihood, PROBES } from './eval/likelihood.js';
export type { DivergenceMethod, OdeLikelihoodOptions, OdeLikelihoodResult, Probe } from './eval/likelihood.js';
export { DEFAULT_VLB_EPS, epsFromScore, variationalBound, VLB_GRIDS, vlbChain } from './eval/vlb.js';
export type { NoisePredictor, VlbGrid, VlbOptions, VlbResult } from './eval/vlb.js';
export { datasetNll, DEFAULT_NLL_BATCH, meanAndStandardError, NLL_METHODS, normalizationLogJacobian, VLB_VARIANCES } from './eval/dataset-nll.js';
export type { DatasetNll, DatasetNllOptions, NllData, NllMethod, OdeDatasetNll, VlbDatasetNll, VlbVariance } from './eval/dataset-nll.js';
export { NLL_SCHEMA, type NllOptions } from './eval/nll-options.js';

// Metrics: sample-quality distances between point sets.
export { energyDistance, medianDistance, noiseFloor, noiseFloors, rbfMmd2, slicedWasserstein } from './eval/metrics.js';
export type { MetricFn, NoiseFloor, Points } from './eval/metrics.js';
export { BANDWIDTH_MAX_POINTS, medianBandwidth, MMD_HOST_MAX_DIM, MMD_MAX_POINTS, mmd2 } from './eval/mmd.js';
export type { MmdOptions } from './eval/mmd.js';
export { oracleMetrics } from './eval/oracle-metrics.js';
export type { ComponentError, OracleMetrics } from './eval/oracle-metrics.js';
export { meanInterval, pairedDifferenceInterval, studentTCdf, studentTQuantile } from './eval/intervals.js';
export type { MeanInterval, PairedDifference } from './eval/intervals.js';

// Comparison: several solvers on one SDE, score and seed, timed and scored against a reference.
export { compareSolvers, comparisonRuns, sampleQuality } from './eval/compare.js';
export type { CompareOptions, ComparisonResult, ComparisonRun } from './eval/compare.js';

// Oracle mixtures: Gaussian mixtures whose score under every SDE is known in closed form.
export {
  conditionOnClass,
  diffuseMixture,
  loadMixture,
  mixtureAt,
  mixtureCovariance,
  mixtureDim,
  mixtureLogDensity,
  mixtureMean,
  parseMixture,
  validateMixture,
} from './oracle/mixture.js';
export type { GaussianMixture } from './oracle/mixture.js';
export { mixtureScore } from './oracle/score.js';
export type { DisposableScoreFn } from './oracle/score.js';
export { sampleMixture } from './oracle/sample.js';
export type { MixtureSample } from './oracle/sample.js';
export { conditionOnCoordinates, mixtureConditionalScore } from './oracle/conditional.js';
export type { DisposableConditionalScore, KnownCoordinate } from './oracle/conditional.js';
