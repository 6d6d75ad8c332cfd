// Second opinion for the Go tokenizer: Hugging Face's own JavaScript port of
// tokenizers (@huggingface/tokenizers) encodes the same texts.
// Usage: node hf_js_encode.mjs <node_modules dir> <tokenizer dir> <texts.json>
// <texts.json> is a JSON array of strings; prints a JSON array of id arrays
// (no special tokens).
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [modules, dir, textsPath] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const { Tokenizer } = require("@huggingface/tokenizers");

const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
const tok = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));
process.stdout.write(JSON.stringify(texts.map((t) => tok.encode(t, { add_special_tokens: false }).ids)));
