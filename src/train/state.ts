import * as tf from '@tensorflow/tfjs';
import { mixSeed } from '../random.js';
import { disposeParams, initParams, toVariables, type Params } from '../models/params.js';
import { ScoreModel } from '../models/score-model.js';
import { Adam } from './adam.js';
import { EMA } from './ema.js';
import type { TrainPlan } from './plan.js';

/**
 * What training changes: the parameters as variables (the trained ones and the fixed ones), Adam
 * with its moments and step, the EMA of the trained weights, and the score models on the raw and
 * on the averaged weights. The step is Adam's (the number of updates done).
 */
export interface TrainState {
  vars: Record<string, tf.Variable>;
  trainVars: Record<string, tf.Variable>;
  adam: Adam;
  ema: EMA;
  /** The fixed parameters with the EMA of the trained ones: the weights sampling uses. */
  emaParams: Params;
  rawModel: ScoreModel;
  model: ScoreModel;
  dispose(): void;
}

/**
 * The state of a planned run: fresh parameters initialised from (seed, -1), or the resumed
 * checkpoint's parameters, optimiser state and EMA (the plan's checkpoint is disposed here).
 */
export function createTrainState(plan: TrainPlan): TrainState {
  const { network, settings, resumed } = plan;
  const trainable = new Set(network.specs.filter((s) => s.trainable).map((s) => s.name));
  const initial = resumed ? resumed.params : initParams(network.specs, mixSeed(settings.seed, -1));
  const vars = toVariables(network.specs, initial);
  const trainVars: Record<string, tf.Variable> = {};
  const fixed: Params = {};
  for (const s of network.specs) {
    if (trainable.has(s.name)) trainVars[s.name] = vars[s.name];
    else fixed[s.name] = vars[s.name];
  }
  const adam = new Adam(
    { lr: settings.lr, beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.adamEpsilon, warmup: settings.warmup, gradClip: settings.gradClip },
    trainVars,
    resumed?.optimizer,
  );
  const savedEma: Params | undefined = resumed?.ema ? Object.fromEntries([...trainable].map((k) => [k, resumed.ema![k]])) : undefined;
  const ema = new EMA(settings.ema, trainVars, savedEma);
  const emaParams: Params = { ...fixed, ...ema.shadow };
  if (resumed) resumed.dispose();
  else disposeParams(initial);
  return {
    vars,
    trainVars,
    adam,
    ema,
    emaParams,
    rawModel: new ScoreModel(plan.sde, plan.modelConfig, vars, network),
    model: new ScoreModel(plan.sde, plan.modelConfig, emaParams, network),
    dispose() {
      disposeParams(vars);
      adam.dispose();
      ema.dispose();
    },
  };
}
