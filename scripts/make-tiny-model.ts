/**
 * Write a tiny, valid BERT-like feature-extraction model for transformers.js into
 * `<outDir>/<modelId>/`: config.json, tokenizer.json (WordPiece), tokenizer_config.json and
 * onnx/model.onnx. The graph is Gather(word embeddings) + Gather(token-type embeddings) →
 * MatMul → Tanh, masked by attention_mask, output `last_hidden_state`. Weights are seeded noise:
 * it exercises the real loading and embedding code, not ranking quality. Never commit its output.
 *
 * Run: npx tsx scripts/make-tiny-model.ts <outDir> [modelId]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// --- minimal protobuf writer (just what ONNX needs) ---
type Field = Buffer;
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, n: number | bigint): Field => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field: number, b: Buffer): Field => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field: number, s: string): Field => bytes(field, Buffer.from(s, 'utf8'));
const msg = (field: number, ...parts: Field[]): Field => bytes(field, Buffer.concat(parts));

const FLOAT = 1;
const INT64 = 7;

function tensor(name: string, dims: number[], type: number, raw: Buffer): Field {
  return msg(5, ...dims.map((d) => int(1, d)), int(2, type), str(8, name), bytes(9, raw));
}
function valueInfo(field: number, name: string, type: number, dims: (number | string)[]): Field {
  const shape = dims.map((d) => msg(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  return msg(field, str(1, name), msg(2, msg(1, int(1, type), msg(2, ...shape))));
}
function node(op: string, inputs: string[], outputs: string[], attrs: Field[] = []): Field {
  return msg(1, ...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attrs);
}

function seededFloats(n: number, seed: number, scale: number): Buffer {
  const buf = Buffer.alloc(n * 4);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    buf.writeFloatLE(((s / 2 ** 32) * 2 - 1) * scale, i * 4);
  }
  return buf;
}

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS =
  'the a an to of and or in on for with from by is are be it this that get list create update delete send read write search find file files issue issues pull request repository message channel email calendar event user users data database query table page web url image text document note task project payment invoice customer order weather map route time date price stock token wallet account log logs error alert deploy build run test'.split(' ');

/** Build the files in memory: { relative path: contents }. */
export function tinyModelFiles(dim = 32): Record<string, Buffer | string> {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const vocabList = [...SPECIAL, ...letters, ...letters.map((c) => `##${c}`), ...WORDS, ...['.', ',', '-', '_', ':', '/', '?', '!', '(', ')', '"', "'"]];
  const vocab = Object.fromEntries([...new Set(vocabList)].map((t, i) => [t, i]));
  const V = Object.keys(vocab).length;

  const graph = Buffer.concat([
    node('Gather', ['word_embeddings', 'input_ids'], ['words']),
    node('Gather', ['token_type_embeddings', 'token_type_ids'], ['types']),
    node('Add', ['words', 'types'], ['embedded']),
    node('MatMul', ['embedded', 'dense'], ['projected']),
    node('Tanh', ['projected'], ['activated']),
    node('Cast', ['attention_mask'], ['mask_f'], [msg(5, str(1, 'to'), int(20, 2), int(3, FLOAT))]),
    node('Unsqueeze', ['mask_f', 'last_axis'], ['mask3']),
    node('Mul', ['activated', 'mask3'], ['last_hidden_state']),
    str(2, 'tiny-bert'),
    tensor('word_embeddings', [V, dim], FLOAT, seededFloats(V * dim, 1, 1)),
    tensor('token_type_embeddings', [2, dim], FLOAT, seededFloats(2 * dim, 2, 0.1)),
    tensor('dense', [dim, dim], FLOAT, seededFloats(dim * dim, 3, 0.5)),
    tensor('last_axis', [1], INT64, Buffer.from(new BigInt64Array([-1n]).buffer)),
    valueInfo(11, 'input_ids', INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'sequence']),
    valueInfo(11, 'token_type_ids', INT64, ['batch', 'sequence']),
    valueInfo(12, 'last_hidden_state', FLOAT, ['batch', 'sequence', dim]),
  ]);
  const model = Buffer.concat([int(1, 7), str(2, 'openmcp-tiny-model'), bytes(7, graph), msg(8, str(1, ''), int(2, 13))]);

  const special = (t: string) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  };
  const config = { model_type: 'bert', architectures: ['BertModel'], hidden_size: dim, vocab_size: V, type_vocab_size: 2, max_position_embeddings: 512 };
  return {
    'config.json': JSON.stringify(config, null, 2),
    'tokenizer.json': JSON.stringify(tokenizer),
    'tokenizer_config.json': JSON.stringify(tokenizerConfig, null, 2),
    'onnx/model.onnx': model,
  };
}

/** Write the model under `<outDir>/<modelId>/`; returns that directory. */
export function makeTinyModel(outDir: string, modelId = 'model', dim = 32): string {
  const root = join(outDir, modelId);
  mkdirSync(join(root, 'onnx'), { recursive: true });
  for (const [path, content] of Object.entries(tinyModelFiles(dim))) writeFileSync(join(root, path), content);
  return root;
}

if (require.main === module) {
  const [outDir, modelId] = process.argv.slice(2);
  if (!outDir) {
    console.error('usage: tsx scripts/make-tiny-model.ts <outDir> [modelId]');
    process.exit(2);
  }
  console.log(makeTinyModel(outDir, modelId));
}
