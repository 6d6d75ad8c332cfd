package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/dataset"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search/server"
	"github.com/urfave/cli/v2"
)

func serveCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "serve",
		Usage: "serve PLAID search over HTTP (POST /search, GET /healthz, GET /metrics)",
		Description: "The index is memory-mapped once and searched by many requests at once. POST /search takes\n" +
			`{"query": "...", "k": 10} (optional "ncells", "ndocs", "threshold") and returns ranked ids and scores,` + "\n" +
			"with passage text when --collection is given. SIGINT/SIGTERM shut down gracefully.\n" +
			"With --shards URL,… it serves no index but routes each /search to those shards (each a `colbert serve`\n" +
			"of one slice, e.g. `colbert index build --shard i/N`) and merges their top k (search/router).",
		Flags: append(optional(colbertModelFlags(), "checkpoint"),
			&cli.StringFlag{Name: "index", Usage: "index directory (required unless --shards)"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.StringFlag{Name: "collection", Aliases: []string{"c"}, Usage: "collection to return passage text from (BEIR directory, corpus.jsonl, collection.tsv, .parquet)"},
			&cli.IntFlag{Name: "max-k", Value: 1000, Usage: "largest k a request may ask for"},
			&cli.IntFlag{Name: "max-concurrent", Usage: "searches at once; others queue (0 = number of CPUs)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "per-request timeout, queueing included"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip the checksum pass when opening the index"},
			threadsFlag(),
			shardsFlag(), onShardErrorFlag(), shardTimeoutFlag(),
		),
		Action: serveAction,
	}}
}

func serveAction(c *cli.Context) error {
	if routed, err := serveRoute(c); routed || err != nil {
		return err
	}
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	m := e.Model()
	defer e.Close()
	cfg := server.Config{
		Searcher:      e.Searcher(),
		Encoder:       queryEncoder{m: m, dim: m.Dim()},
		ID:            e.PassageID,
		MaxK:          c.Int("max-k"),
		MaxConcurrent: c.Int("max-concurrent"),
		Timeout:       c.Duration("timeout"),
	}
	if path := c.String("collection"); path != "" {
		ps, err := dataset.Passages(path)
		if err != nil {
			return err
		}
		text := make(map[string]string, len(ps))
		for _, p := range ps {
			text[p.ID] = p.Content()
		}
		cfg.Text = func(pid int) (string, bool) {
			t, ok := text[e.PassageID(pid)]
			return t, ok
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "serve: %d passages, listening on http://%s\n", e.Stats().Passages, ln.Addr())
	return srv.Serve(c.Context, ln)
}

// queryEncoder adapts the checkpoint's text encoder to the server.
type queryEncoder struct {
	m   *colbert.Model
	dim int
}

func (e queryEncoder) EncodeQuery(ctx context.Context, text string) ([]float32, int, error) {
	vs, err := e.m.EncodeQueries(ctx, []data.Query{{ID: "request", Text: text}})
	if err != nil {
		return nil, 0, err
	}
	return vs[0], e.dim, nil
}
