package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/testassets"
	"github.com/urfave/cli/v2"
)

// TestIndexPoolAndShardCLI: --pool-factor 2 stores about half the vectors
// and `index info` says so; --shard i/N indexes the i-th contiguous slice;
// bad values are refused.
func TestIndexPoolAndShardCLI(t *testing.T) {
	ck := testassets.Path(t, "models/hf-tiny/colbert")
	cran := testassets.Path(t, "classic/cranfield")
	dir := t.TempDir()
	ps, err := data.ReadCorpusJSONL(filepath.Join(cran, "corpus.jsonl"))
	must(t, err)
	corpus := filepath.Join(dir, "corpus.jsonl")
	must(t, data.WriteCorpusJSONL(corpus, ps[:60]))
	var out, errw bytes.Buffer
	app := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &errw, Commands: indexCommands()}
	run := func(args ...string) string {
		t.Helper()
		out.Reset()
		errw.Reset()
		if err := app.Run(append([]string{"colbert"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errw.String())
		}
		return out.String() + errw.String()
	}
	build := func(name string, extra ...string) *index.Manifest {
		t.Helper()
		run(append([]string{"index", "build", "--checkpoint", ck, "-c", corpus, "--out", filepath.Join(dir, name),
			"--centroids", "32", "--sample", "30", "--threads", "2", "-q"}, extra...)...)
		ix, err := index.Open(filepath.Join(dir, name), index.OpenOptions{})
		must(t, err)
		defer ix.Close()
		m := ix.Manifest()
		return &m
	}
	plain := build("plain")
	pooled := build("pooled", "--pool-factor", "2")
	if pooled.PoolFactor != 2 || pooled.NumEmbeddings > plain.NumEmbeddings/2+60 || pooled.NumEmbeddings < plain.NumEmbeddings/2-30 {
		t.Errorf("pool factor 2: %d embeddings (factor %d), unpooled %d", pooled.NumEmbeddings, pooled.PoolFactor, plain.NumEmbeddings)
	}
	if info := run("index", "info", filepath.Join(dir, "pooled")); !strings.Contains(info, "pooling     factor 2") {
		t.Errorf("index info does not report the pool factor:\n%s", info)
	}
	if info := run("index", "info", filepath.Join(dir, "plain")); strings.Contains(info, "pooling") {
		t.Errorf("index info reports pooling of an unpooled index:\n%s", info)
	}
	shard := build("shard1", "--shard", "1/2")
	ix, err := index.Open(filepath.Join(dir, "shard1"), index.OpenOptions{})
	must(t, err)
	if shard.NumPassages != 30 || ix.PassageID(0) != ps[30].ID || ix.PassageID(29) != ps[59].ID {
		t.Errorf("shard 1/2: %d passages, first %s, last %s; want 30 from %s to %s", shard.NumPassages, ix.PassageID(0), ix.PassageID(29), ps[30].ID, ps[59].ID)
	}
	ix.Close()
	for _, bad := range [][]string{{"--shard", "2/2"}, {"--shard", "x"}, {"--pool-factor", "-1"}} {
		err := app.Run(append([]string{"colbert", "index", "build", "--checkpoint", ck, "-c", corpus, "--out", filepath.Join(dir, "bad"), "-q"}, bad...))
		if err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
