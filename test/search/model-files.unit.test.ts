import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { checkModelFiles } from '../../src/search/embedder';
import { makeTinyModel } from '../../scripts/make-tiny-model';

/**
 * checkModelFiles: the files transformers.js reads of `<EMBEDDING_MODEL_DIR>/<EMBEDDING_MODEL_ID>/`
 * (env.localModelPath + the model id), checked at start before anything is made.
 */
describe('checkModelFiles: an EMBEDDING_MODEL_DIR as the loader reads it', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-model-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const refusal = (modelDir: string, modelId?: string): string => {
    try {
      checkModelFiles(modelDir, modelId);
    } catch (e) {
      expect(e).to.have.property('code', 'CONFIG_INVALID');
      return (e as Error).message;
    }
    throw new Error('not refused');
  };

  it('takes a relative path, a symlink to the folder and a model id with a slash (a hub name kept as folders)', () => {
    makeTinyModel(join(dir, 'models'));
    expect(checkModelFiles(relative(process.cwd(), join(dir, 'models')))).to.deep.equal({ quantized: false });
    symlinkSync(join(dir, 'models'), join(dir, 'current'));
    expect(checkModelFiles(join(dir, 'current'))).to.deep.equal({ quantized: false });
    makeTinyModel(join(dir, 'hub'), 'Xenova/tiny');
    expect(checkModelFiles(join(dir, 'hub'), 'Xenova/tiny')).to.deep.equal({ quantized: false });
  });

  it('refuses a dangling symlink and a folder that does not exist, naming the graph', () => {
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
    expect(refusal(join(dir, 'dangling'))).to.match(/^EMBEDDING_MODEL_DIR: no model\/onnx\/model\.onnx \(or model_quantized\.onnx\) under /);
    expect(refusal(join(dir, 'nowhere'))).to.match(/^EMBEDDING_MODEL_DIR: no model\/onnx\/model\.onnx/);
  });

  it('refuses a model without the tokenizer or config the loader needs, naming the file (it passed, and the start failed after the database and the bootstrap key)', () => {
    const root = makeTinyModel(join(dir, 'models'));
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) {
      const copy = makeTinyModel(join(dir, `without-${file}`));
      unlinkSync(join(copy, file));
      expect(refusal(join(dir, `without-${file}`))).to.equal(`EMBEDDING_MODEL_DIR: no model/${file} under ${join(dir, `without-${file}`)} (a model's folder holds config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx)`);
    }
    expect(checkModelFiles(join(dir, 'models'))).to.deep.equal({ quantized: false });
    expect(root).to.equal(join(dir, 'models', 'model'));
  });

  it("names the settings to write for the model's own folder, by its real name through a relative path", () => {
    mkdirSync(join(dir, 'models'));
    makeTinyModel(join(dir, 'models'), 'minilm');
    const rel = relative(process.cwd(), join(dir, 'models', 'minilm'));
    expect(refusal(rel)).to.include(`that is the model's own folder: set EMBEDDING_MODEL_DIR=${join(dir, 'models')} (the folder holding minilm/) and EMBEDDING_MODEL_ID=minilm`);
  });
});
