// DuckDB side of the Go Parquet interop test (one node start, as loading
// DuckDB takes a second or two).
// Usage: node duckdb_read.mjs <node_modules dir> <out dir> <file>...
// Writes DuckDB-made Parquet files into <out dir>, then reads each <file> and
// prints a JSON array of {"rows": [...], "meta": {key: value}, "types": {column: type}}.
import { createRequire } from "node:module";
import path from "node:path";

const [modules, outDir, ...files] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const { DuckDBInstance } = require("@duckdb/node-api");

const sqlString = (s) => "'" + s.replaceAll("'", "''") + "'";

const instance = await DuckDBInstance.create(":memory:");
const con = await instance.connect();

// DuckDB-made files for the Go readers: BIGINT ids and ranks, a NULL
// title, FLOAT lists with a NULL list, zstd, DuckDB's own KV metadata.
{
  const dir = outDir;
  await con.run(`COPY (SELECT * FROM (VALUES
      ('q1', ['d1', 'd2', 'd3'], [1.5, -0.25, 3.0]::FLOAT[]),
      ('q2', ['d4'], NULL::FLOAT[])) t(query_id, doc_ids, teacher_scores))
    TO ${sqlString(path.join(dir, "duck_examples.parquet"))} (FORMAT parquet, KV_METADATA {teacher: 'duck'})`);
  await con.run(`COPY (SELECT * FROM (VALUES
      (1::BIGINT, 'Title', 'text one'), (2::BIGINT, NULL, 'text two')) t(id, title, text))
    TO ${sqlString(path.join(dir, "duck_passages.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
  await con.run(`COPY (SELECT * FROM (VALUES
      ('q1', 'd2', 2::BIGINT, 0.5::DOUBLE), ('q1', 'd1', 1::BIGINT, 0.75::DOUBLE)) t(query_id, doc_id, rank, score))
    TO ${sqlString(path.join(dir, "duck_run.parquet"))} (FORMAT parquet)`);
}

const results = [];
for (const f of files) {
  const file = sqlString(f);
  const rows = (await con.runAndReadAll(`SELECT * FROM read_parquet(${file})`)).getRowObjectsJson();
  const kv = (await con.runAndReadAll(
    `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${file})`,
  )).getRowObjectsJson();
  const meta = {};
  for (const { key, value } of kv) meta[key] = value;
  const cols = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${file})`)).getRowObjectsJson();
  const types = {};
  for (const c of cols) types[c.column_name] = c.column_type;
  delete meta["ARROW:schema"];
  results.push({ rows, meta, types });
}
process.stdout.write(JSON.stringify(results));
