import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors';

/** Text → unit vectors. The port behind semantic search; `loadLocalEmbedder` is the transformers.js adapter. */
export interface Embedder {
  readonly model: string;
  /** Identifies the model's behaviour, not only its name: vectors saved under another fingerprint are not reused. */
  readonly fingerprint?: string;
  readonly dimensions: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

type FeatureExtractor = (texts: string[], opts: { pooling: 'mean'; normalize: boolean }) => Promise<{ dims: number[]; data: Float32Array }>;

/** The files beside the graph that transformers.js reads of a feature-extraction model (each required). */
const MODEL_JSON_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

const hasGraph = (root: string) => existsSync(join(root, 'onnx', 'model_quantized.onnx')) || existsSync(join(root, 'onnx', 'model.onnx'));

/**
 * Check that `<modelDir>/<modelId>/` holds a model graph (`onnx/`) and the config and tokenizer files
 * the loader reads beside it, without loading it: cheap, so that a
 * start refuses a wrong EMBEDDING_MODEL_DIR before it makes anything (the database, the bootstrap
 * key). A directory that is itself the model's folder (EMBEDDING_MODEL_DIR set one level too deep)
 * is named with the setting to write instead. Throws CONFIG_INVALID naming EMBEDDING_MODEL_DIR.
 * @example checkModelFiles('/srv/models', 'model') // { quantized: false } when /srv/models/model/onnx/model.onnx exists
 */
export function checkModelFiles(modelDir: string, modelId = 'model'): { quantized: boolean } {
  const root = join(modelDir, modelId);
  const quantized = existsSync(join(root, 'onnx', 'model_quantized.onnx'));
  if (quantized || existsSync(join(root, 'onnx', 'model.onnx'))) {
    // The loader reads these too, each required (transformers.js's getModelJSON, fatal): a model
    // without one failed at load, after the database and the bootstrap key were made.
    const missing = MODEL_JSON_FILES.find((f) => !existsSync(join(root, f)));
    if (missing) {
      throw new ConfigError(`EMBEDDING_MODEL_DIR: no ${modelId}/${missing} under ${modelDir} (a model's folder holds ${MODEL_JSON_FILES.join(', ')} and onnx/model.onnx)`, { variable: 'EMBEDDING_MODEL_DIR' });
    }
    return { quantized };
  }
  const name = basename(resolve(modelDir));
  const own = hasGraph(modelDir)
    ? `: that is the model's own folder: set EMBEDDING_MODEL_DIR=${dirname(resolve(modelDir))} (the folder holding ${name}/)${name === modelId ? '' : ` and EMBEDDING_MODEL_ID=${name}`}`
    : '';
  throw new ConfigError(`EMBEDDING_MODEL_DIR: no ${modelId}/onnx/model.onnx (or model_quantized.onnx) under ${modelDir}${own}`, { variable: 'EMBEDDING_MODEL_DIR' });
}

/**
 * Load a feature-extraction model from `<modelDir>/<modelId>/` (config.json, tokenizer.json,
 * tokenizer_config.json, onnx/model.onnx or onnx/model_quantized.onnx). Remote loading is off:
 * nothing is ever fetched from a hub. Throws CONFIG_INVALID naming EMBEDDING_MODEL_DIR when the files are missing.
 */
export async function loadLocalEmbedder(modelDir: string, modelId = 'model'): Promise<Embedder> {
  const { quantized } = checkModelFiles(modelDir, modelId);
  const t = await import('@xenova/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = modelDir.endsWith('/') ? modelDir : `${modelDir}/`;
  let extract: FeatureExtractor;
  let probe: { dims: number[]; data: Float32Array };
  try {
    extract = (await t.pipeline('feature-extraction', modelId, { quantized })) as unknown as FeatureExtractor;
    // A model that loads but cannot run (wrong graph, wrong outputs) fails here, at start-up, not at the first search.
    probe = await extract(['probe'], { pooling: 'mean', normalize: true });
  } catch (err) {
    throw new ConfigError(`EMBEDDING_MODEL_DIR: cannot load ${modelId} from ${modelDir}: ${(err as Error).message}`, { variable: 'EMBEDDING_MODEL_DIR' });
  }
  const dimensions = probe.dims[probe.dims.length - 1];
  if (!(dimensions > 0) || !probe.data.every(Number.isFinite)) {
    throw new ConfigError(`EMBEDDING_MODEL_DIR: ${modelId} from ${modelDir} gives no usable embedding (dimensions ${dimensions})`, { variable: 'EMBEDDING_MODEL_DIR' });
  }
  // Rounded, so float noise between runs does not count as another model.
  const fingerprint = `${modelId}#${createHash('sha256').update(Array.from(probe.data, (x) => x.toFixed(3)).join(',')).digest('hex').slice(0, 16)}`;
  return {
    model: modelId,
    fingerprint,
    dimensions,
    async embed(texts) {
      if (!texts.length) return [];
      const out = await extract(texts, { pooling: 'mean', normalize: true });
      return texts.map((_, i) => out.data.slice(i * dimensions, (i + 1) * dimensions));
    },
  };
}
